// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi attach | detach | set: the commands that change what is attached.
#include "command.hpp"

namespace tcpxi::cli {

namespace {

constexpr const char *kCgroupHelp = "Path relative to the cgroup2 mount, absolute path, or cgroup id";

struct ChangeArgs {
	std::string cgroup;
	std::string plugin;
	std::vector<std::string> assignments;
	std::vector<std::string> unset;
	bool all = false;
};

} // namespace

void add_attach_command(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<ChangeArgs>();
	auto *cmd = app.add_subcommand("attach", "Attach a plugin to a cgroup (and keep it attached)");
	cmd->add_option("CGROUP", args->cgroup, kCgroupHelp)->required();
	cmd->add_option("PLUGIN", args->plugin, "Plugin name (see `tcpxi plugin list`)")->required();
	cmd->add_option("-s,--set", args->assignments, "Parameter KEY=VALUE (repeatable)")->allow_extra_args(false);
	cmd->callback([&ctx, args] {
		ctx.require_root("attach");
		ctx.print_report(ctx.tcpxi().attach(args->cgroup, args->plugin, args->assignments));
	});
}

void add_detach_command(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<ChangeArgs>();
	auto *cmd = app.add_subcommand("detach", "Detach a plugin (or all) from a cgroup");
	cmd->add_option("CGROUP", args->cgroup, kCgroupHelp)->required();
	auto *plugin = cmd->add_option("PLUGIN", args->plugin, "Plugin name");
	auto *all = cmd->add_flag("--all", args->all, "Detach every tcpxi plugin from the cgroup");
	plugin->excludes(all);
	cmd->callback([&ctx, args] {
		ctx.require_root("detach");
		if (!args->all && args->plugin.empty())
			throw Error(ErrorKind::usage, "name the PLUGIN to detach, or pass --all");
		ctx.print_report(args->all ? ctx.tcpxi().detach_all(args->cgroup)
					   : ctx.tcpxi().detach(args->cgroup, args->plugin));
	});
}

void add_set_command(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<ChangeArgs>();
	auto *cmd = app.add_subcommand("set", "Change parameters of an attached plugin, without re-attaching");
	cmd->add_option("CGROUP", args->cgroup, "Cgroup the plugin is attached to")->required();
	cmd->add_option("PLUGIN", args->plugin, "Plugin name")->required();
	cmd->add_option("KEY=VALUE", args->assignments, "Parameters to set");
	cmd->add_option("-u,--unset", args->unset, "Parameter to return to the kernel's default (repeatable)")
		->allow_extra_args(false);
	cmd->callback([&ctx, args] {
		ctx.require_root("set");
		ctx.print_report(ctx.tcpxi().set(args->cgroup, args->plugin, args->assignments, args->unset));
	});
}

} // namespace tcpxi::cli
