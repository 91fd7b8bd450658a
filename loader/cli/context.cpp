// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <unistd.h>

#include <iostream>

#include "command.hpp"
#include "output.hpp"

namespace tcpxi::cli {

void Context::print_json(const nlohmann::json &value) const
{
	std::cout << (pretty ? value.dump(2) : value.dump()) << '\n';
}

void Context::print_report(const Report &report) const
{
	if (wants_json()) {
		print_json(to_json(report));
		return;
	}
	for (const auto &line : report.lines)
		std::cout << line << '\n';
}

Tcpxi &Context::tcpxi()
{
	if (!tcpxi_) {
		Options options;
		options.instance = instance;
		options.lock_wait_seconds = wait_seconds;
		options.verbosity = verbose;
		tcpxi_ = std::make_unique<Tcpxi>(options);
	}
	return *tcpxi_;
}

void Context::require_root(const std::string &command) const
{
	if (geteuid() != 0)
		throw Error(ErrorKind::permission, command + " needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run it with sudo");
}

} // namespace tcpxi::cli
