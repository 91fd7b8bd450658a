// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The tcpxi command: global flags here, one file per command (cmd_*.cpp).
#include <iostream>

#include <tcpxi/version.hpp>

#include "command.hpp"

using namespace tcpxi;

int main(int argc, char **argv)
{
	CLI::App app{"tcpxi: extend the Linux TCP stack with eBPF plugins, per cgroup"};
	app.require_subcommand(1);
	app.fallthrough();
	cli::Context ctx;
	app.add_flag("-j,--json", ctx.json, "Print JSON (read commands and change reports)");
	app.add_flag("-p,--pretty", ctx.pretty, "Print indented JSON");
	app.add_flag("-v,--verbose", ctx.verbose, "Show libbpf and verifier logs (-vv: debug)");
	app.add_option("--instance", ctx.instance,
		       "Instance name: pins under <bpffs>/NAME, congestion controls named NAME_<plugin>")
		->envname("TCPXI_INSTANCE")
		->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
	app.add_option("--wait", ctx.wait_seconds, "Seconds to wait for another tcpxi changing the same instance")
		->check(CLI::Range(0, 3600));
	app.set_version_flag("--version", std::string("tcpxi ") + TCPXI_VERSION);

	cli::add_plugin_command(app, ctx);
	cli::add_attach_command(app, ctx);
	cli::add_detach_command(app, ctx);
	cli::add_set_command(app, ctx);
	cli::add_status_command(app, ctx);
	cli::add_apply_command(app, ctx);
	cli::add_daemon_command(app, ctx);
	cli::add_features_command(app, ctx);
	cli::add_stats_command(app, ctx);
	cli::add_top_command(app, ctx);
	cli::add_snmp_command(app, ctx);

	try {
		app.parse(argc, argv); // runs the chosen command's callback
	} catch (const CLI::ParseError &e) {
		if (e.get_exit_code() == 0) // --help, --version
			return app.exit(e);
		std::cerr << "tcpxi: " << e.what() << " (see tcpxi --help)\n";
		return static_cast<int>(ErrorKind::usage);
	} catch (const Error &e) {
		std::cerr << "tcpxi: " << e.what() << '\n';
		return e.exit_code();
	} catch (const std::exception &e) {
		std::cerr << "tcpxi: internal error: " << e.what() << '\n';
		return 1;
	}
	return 0;
}
