// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi stats [CGROUP] [--connections] [--watch S [--count N]] [--prometheus FILE]
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include <tcpxi/stats.hpp>

#include "command.hpp"
#include "stats_view.hpp"

namespace tcpxi::cli {

namespace {

struct StatsArgs {
	std::string cgroup;
	bool connections = false;
	bool no_live = false;
	double watch = 0;
	unsigned count = 0;
	std::string prometheus;
};

void show_once(Context &ctx, const StatsArgs &args, bool clear)
{
	StatsQuery query;
	if (!args.cgroup.empty())
		query.cgroup = args.cgroup;
	query.connections = args.connections;
	query.live = !args.no_live;
	StatsSnapshot snap = read_stats(ctx.tcpxi(), query);
	if (!args.prometheus.empty()) {
		std::string text = prometheus_text(snap);
		if (args.prometheus == "-")
			std::cout << text << std::flush;
		else
			write_file_atomically(args.prometheus, text);
		return;
	}
	if (ctx.wants_json()) {
		// With --watch: one JSON document per line (JSON Lines), even with --pretty.
		std::cout << (ctx.pretty && !args.watch ? to_json(snap).dump(2) : to_json(snap).dump()) << '\n'
			  << std::flush;
		return;
	}
	if (clear)
		std::cout << "\033[H\033[2J";
	std::cout << stats_tables(snap) << std::flush;
}

} // namespace

void add_stats_command(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<StatsArgs>();
	auto *cmd = app.add_subcommand("stats", "Show the counters of every attachment, and TCP's own per cgroup (stats plugin)");
	cmd->add_option("CGROUP", args->cgroup, "Only this cgroup (and, with -c, the connections below it)");
	cmd->add_flag("-c,--connections", args->connections, "List the live connections too (RFC 4898 values)");
	cmd->add_flag("--no-live", args->no_live,
		      "Show the plugin's snapshots of connections, not the live values from sock_diag");
	cmd->add_option("--watch", args->watch, "Show again every SECONDS until interrupted")
		->check(CLI::Range(0.1, 86400.0));
	cmd->add_option("--count", args->count, "With --watch: stop after this many")->check(CLI::Range(1u, 1000000000u));
	cmd->add_option("--prometheus", args->prometheus,
			"Write the Prometheus text exposition to FILE atomically (node-exporter textfile collector); - for stdout");
	cmd->callback([&ctx, args] {
		ctx.require_root("stats");
		if (!args->watch) {
			show_once(ctx, *args, false);
			return;
		}
		const bool tty = isatty(STDOUT_FILENO) && !ctx.wants_json() && args->prometheus.empty();
		auto next = std::chrono::steady_clock::now();
		for (unsigned i = 0; !args->count || i < args->count; i++) {
			if (i)
				std::this_thread::sleep_until(next);
			next += std::chrono::milliseconds(static_cast<long>(args->watch * 1000));
			show_once(ctx, *args, tty);
			if (!tty && ctx.wants_json() == false && args->prometheus.empty())
				std::cout << '\n';
		}
	});
}

} // namespace tcpxi::cli
