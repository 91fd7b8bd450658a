// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi status [CGROUP]
#include <iostream>

#include "command.hpp"
#include "output.hpp"

namespace tcpxi::cli {

void add_status_command(CLI::App &app, Context &ctx)
{
	auto cgroup = std::make_shared<std::string>();
	auto *cmd = app.add_subcommand("status", "Show what is attached where, read from the kernel");
	cmd->add_option("CGROUP", *cgroup, "Only this cgroup");
	cmd->callback([&ctx, cgroup] {
		ctx.require_root("status");
		Status status = ctx.tcpxi().status(cgroup->empty() ? std::nullopt : std::optional<std::string>(*cgroup));
		if (ctx.wants_json())
			ctx.print_json(to_json(status));
		else
			std::cout << status_table(status);
	});
}

} // namespace tcpxi::cli
