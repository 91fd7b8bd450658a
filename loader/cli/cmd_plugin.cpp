// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi plugin list | show NAME
#include <iostream>

#include "command.hpp"
#include "output.hpp"

namespace tcpxi::cli {

void add_plugin_command(CLI::App &app, Context &ctx)
{
	auto *plugin = app.add_subcommand("plugin", "List and describe plugins");
	plugin->require_subcommand(1);

	auto *list = plugin->add_subcommand("list", "List the built-in plugins");
	list->callback([&ctx] {
		if (!ctx.wants_json()) {
			std::cout << plugin_table(builtin_plugins());
			return;
		}
		nlohmann::json all = nlohmann::json::array();
		for (const auto &p : builtin_plugins())
			all.push_back(to_json(p));
		ctx.print_json(all);
	});

	auto *show = plugin->add_subcommand("show", "Describe a plugin: parameters and counters");
	auto name = std::make_shared<std::string>();
	show->add_option("NAME", *name, "Plugin name")->required();
	show->callback([&ctx, name] {
		const Plugin *p = find_builtin_plugin(*name);
		if (!p)
			throw Error(ErrorKind::usage, "unknown plugin '" + *name + "' (list them with `tcpxi plugin list`)");
		if (ctx.wants_json())
			ctx.print_json(to_json(*p));
		else
			std::cout << plugin_details(*p);
	});
}

} // namespace tcpxi::cli
