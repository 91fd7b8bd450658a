// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The tcpxi command: one table of commands, each a thin layer over libtcpxi.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <iostream>

#include <tcpxi/tcpxi.hpp>
#include <tcpxi/version.hpp>

#include "output.hpp"

using namespace tcpxi;

namespace {

struct GlobalFlags {
	bool json = false;
	bool pretty = false;
	int verbose = 0;
	std::string instance = "tcpxi";
	int wait_seconds = 5;
};

void print_json(const GlobalFlags &flags, const nlohmann::json &value)
{
	std::cout << (flags.pretty ? value.dump(2) : value.dump()) << '\n';
}

void print_report(const GlobalFlags &flags, const Report &report)
{
	if (flags.json || flags.pretty)
		print_json(flags, cli::to_json(report));
	else
		for (const auto &line : report.lines)
			std::cout << line << '\n';
}

void require_root(const std::string &command)
{
	if (geteuid() != 0)
		throw Error(ErrorKind::permission, "tcpxi " + command +
							   " needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run it with sudo");
}

} // namespace

int main(int argc, char **argv)
{
	CLI::App app{"tcpxi: extend the Linux TCP stack with eBPF plugins, per cgroup"};
	app.require_subcommand(1);
	app.fallthrough();
	GlobalFlags flags;
	app.add_flag("-j,--json", flags.json, "Print JSON (read commands and change reports)");
	app.add_flag("-p,--pretty", flags.pretty, "Print indented JSON");
	app.add_flag("-v,--verbose", flags.verbose, "Show libbpf and verifier logs (-vv: debug)");
	app.add_option("--instance", flags.instance,
		       "Instance name: pins under <bpffs>/NAME, congestion controls named NAME_<plugin>")
		->envname("TCPXI_INSTANCE")
		->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
	app.add_option("--wait", flags.wait_seconds, "Seconds to wait for another tcpxi changing the same instance")
		->check(CLI::Range(0, 3600));
	app.set_version_flag("--version", std::string("tcpxi ") + TCPXI_VERSION);

	auto *plugin_cmd = app.add_subcommand("plugin", "List and describe plugins");
	plugin_cmd->require_subcommand(1);
	auto *plugin_list = plugin_cmd->add_subcommand("list", "List the built-in plugins");
	auto *plugin_show = plugin_cmd->add_subcommand("show", "Describe a plugin: parameters and counters");
	std::string plugin_name;
	plugin_show->add_option("NAME", plugin_name, "Plugin name")->required();

	std::string cgroup;
	std::string plugin;
	std::vector<std::string> assignments;
	std::vector<std::string> unset;
	bool detach_all = false;

	auto *attach_cmd = app.add_subcommand("attach", "Attach a plugin to a cgroup (and keep it attached)");
	attach_cmd->add_option("CGROUP", cgroup, "Path relative to the cgroup2 mount, absolute path, or cgroup id")
		->required();
	attach_cmd->add_option("PLUGIN", plugin, "Plugin name (see `tcpxi plugin list`)")->required();
	attach_cmd->add_option("-s,--set", assignments, "Parameter KEY=VALUE (repeatable)");

	auto *detach_cmd = app.add_subcommand("detach", "Detach a plugin (or all) from a cgroup");
	detach_cmd->add_option("CGROUP", cgroup, "Path relative to the cgroup2 mount, absolute path, or cgroup id")
		->required();
	auto *detach_plugin = detach_cmd->add_option("PLUGIN", plugin, "Plugin name");
	auto *detach_all_flag = detach_cmd->add_flag("--all", detach_all, "Detach every tcpxi plugin from the cgroup");
	detach_plugin->excludes(detach_all_flag);

	auto *set_cmd = app.add_subcommand("set", "Change parameters of an attached plugin, without re-attaching");
	set_cmd->add_option("CGROUP", cgroup, "Cgroup the plugin is attached to")->required();
	set_cmd->add_option("PLUGIN", plugin, "Plugin name")->required();
	set_cmd->add_option("KEY=VALUE", assignments, "Parameters to set");
	set_cmd->add_option("-u,--unset", unset, "Parameter to return to the kernel's default (repeatable)");

	auto *status_cmd = app.add_subcommand("status", "Show what is attached where, read from the kernel");
	status_cmd->add_option("CGROUP", cgroup, "Only this cgroup");

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		if (e.get_exit_code() == 0) // --help, --version
			return app.exit(e);
		std::cerr << "tcpxi: " << e.what() << " (see tcpxi --help)\n";
		return static_cast<int>(ErrorKind::usage);
	}

	try {
		if (*plugin_list) {
			if (flags.json || flags.pretty) {
				nlohmann::json all = nlohmann::json::array();
				for (const auto &p : builtin_plugins())
					all.push_back(cli::to_json(p));
				print_json(flags, all);
			} else {
				std::cout << cli::plugin_table(builtin_plugins());
			}
			return 0;
		}
		if (*plugin_show) {
			const Plugin *p = find_builtin_plugin(plugin_name);
			if (!p)
				throw Error(ErrorKind::usage,
					    "unknown plugin '" + plugin_name + "' (list them with `tcpxi plugin list`)");
			if (flags.json || flags.pretty)
				print_json(flags, cli::to_json(*p));
			else
				std::cout << cli::plugin_details(*p);
			return 0;
		}

		Options options;
		options.instance = flags.instance;
		options.lock_wait_seconds = flags.wait_seconds;
		options.verbosity = flags.verbose;
		Tcpxi tcpxi(options);

		if (*attach_cmd) {
			require_root("attach");
			print_report(flags, tcpxi.attach(cgroup, plugin, assignments));
		} else if (*detach_cmd) {
			require_root("detach");
			if (!detach_all && plugin.empty())
				throw Error(ErrorKind::usage, "name the PLUGIN to detach, or pass --all");
			print_report(flags, detach_all ? tcpxi.detach_all(cgroup) : tcpxi.detach(cgroup, plugin));
		} else if (*set_cmd) {
			require_root("set");
			print_report(flags, tcpxi.set(cgroup, plugin, assignments, unset));
		} else if (*status_cmd) {
			require_root("status");
			Status status = tcpxi.status(cgroup.empty() ? std::nullopt : std::optional<std::string>(cgroup));
			if (flags.json || flags.pretty)
				print_json(flags, cli::to_json(status));
			else
				std::cout << cli::status_table(status);
		}
	} catch (const Error &e) {
		std::cerr << "tcpxi: " << e.what() << '\n';
		return e.exit_code();
	} catch (const std::exception &e) {
		std::cerr << "tcpxi: internal error: " << e.what() << '\n';
		return 1;
	}
	return 0;
}
