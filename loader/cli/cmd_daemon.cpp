// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi daemon: the service systemd runs (Type=notify); see scripts/tcpxi.service.
#include <tcpxi/config.hpp>

#include "command.hpp"
#include "daemon.hpp"

namespace tcpxi::cli {

void add_daemon_command(CLI::App &app, Context &ctx)
{
	auto options = std::make_shared<DaemonOptions>();
	options->config = kDefaultConfigPath;
	auto *cmd = app.add_subcommand("daemon", "Apply the config, keep it applied; for systemd (Type=notify)");
	cmd->add_option("-c,--config", options->config, "Config file")->capture_default_str();
	cmd->add_flag("--prune", options->prune, "Detach tcpxi attachments the file does not name");
	cmd->add_flag("--detach-on-exit", options->detach_on_exit,
		      "On SIGTERM, detach everything and unregister congestion controls (default: leave them)");
	cmd->add_option("--interval", options->interval_seconds,
			"Re-apply every SECONDS, for cgroups created later that match a pattern (0: only on SIGHUP)")
		->check(CLI::Range(0, 86400));
	cmd->add_option("--metrics", options->metrics, "Serve metrics on ADDRESS:PORT");
	cmd->callback([&ctx, options] {
		ctx.require_root("daemon");
		int code = run_daemon(ctx.tcpxi(), *options);
		if (code)
			throw Error(static_cast<ErrorKind>(code), "daemon stopped: the config could not be applied");
	});
}

} // namespace tcpxi::cli
