// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi top [CGROUP]: the live connections of the cgroups the stats plugin watches,
// sortable and refreshing, for people who would otherwise run `ss -ti` in a loop.
// Keys: < and > (or the arrow keys) choose the sort column, r reverses, q quits.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include <tcpxi/stats.hpp>

#include "command.hpp"
#include "output.hpp"
#include "stats_view.hpp"

namespace tcpxi::cli {

namespace {

struct TopArgs {
	std::string cgroup;
	std::string sort = "acked";
	bool reverse = false;
	double interval = 1.0;
	bool once = false;
};

volatile sig_atomic_t stop_requested = 0;

void on_signal(int)
{
	stop_requested = 1;
}

// Raw keyboard, alternate screen, hidden cursor; all restored on destruction.
class Terminal {
public:
	Terminal()
	{
		if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
			termios raw = saved_;
			raw.c_lflag &= ~(ICANON | ECHO);
			raw.c_cc[VMIN] = 0;
			raw.c_cc[VTIME] = 0;
			tcsetattr(STDIN_FILENO, TCSANOW, &raw);
			restore_ = true;
		}
		std::cout << "\033[?1049h\033[?25l" << std::flush;
	}
	~Terminal()
	{
		std::cout << "\033[?25h\033[?1049l" << std::flush;
		if (restore_)
			tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
	}
	static std::pair<int, int> size()
	{
		winsize ws {};
		if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row)
			return {24, 80};
		return {ws.ws_row, ws.ws_col};
	}

private:
	termios saved_ {};
	bool restore_ = false;
};

std::string render(const StatsSnapshot &snap, int sort, bool reverse, int rows, int cols, bool tty)
{
	std::vector<ConnStats> conns = sort_connections(snap.connections, sort, reverse);
	unsigned cgroups = 0;
	for (const auto &cs : snap.cgroups)
		cgroups += cs.tcp;
	std::ostringstream out;
	const auto &columns = conn_columns();
	out << "tcpxi top - " << conns.size() << " connection" << (conns.size() == 1 ? "" : "s") << " in " << cgroups
	    << " cgroup" << (cgroups == 1 ? "" : "s") << " with stats, sorted by " << columns[sort].name
	    << (reverse ? " (reversed)" : "") << "   keys: < > sort, r reverse, q quit\n";
	if (!cgroups)
		out << "The stats plugin is attached nowhere: tcpxi attach CGROUP stats\n";
	size_t limit = tty ? size_t(std::max(rows - 3, 1)) : SIZE_MAX;
	auto table = connection_rows(conns, limit);
	for (auto &cell : table[0])
		if (&cell - &table[0][0] == sort)
			cell = (reverse ? "^" : "v") + cell;
	std::istringstream lines(format_table(table));
	std::string line;
	bool header = true;
	while (std::getline(lines, line)) {
		if (tty && int(line.size()) > cols)
			line.resize(cols);
		if (tty && header)
			out << "\033[7m" << line << std::string(std::max<int>(0, cols - int(line.size())), ' ') << "\033[0m";
		else
			out << line;
		out << (tty ? "\033[K\n" : "\n");
		header = false;
	}
	if (tty && conns.size() > limit)
		out << "... " << conns.size() - limit << " more\033[K\n";
	return out.str();
}

} // namespace

void add_top_command(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<TopArgs>();
	auto *cmd = app.add_subcommand("top", "Live per-connection view (RFC 4898 values) of the cgroups with the stats plugin");
	cmd->add_option("CGROUP", args->cgroup, "Only the connections of this cgroup and below");
	cmd->add_option("-s,--sort", args->sort, "Sort column (local, remote, state, cgroup, srtt_ms, minrtt_ms, cwnd, "
						 "ssthresh, retrans, acked, received, delivered, ce, pacing, age)");
	cmd->add_flag("-r,--reverse", args->reverse, "Reverse the order");
	cmd->add_option("-i,--interval", args->interval, "Seconds between refreshes")->check(CLI::Range(0.1, 3600.0));
	cmd->add_flag("--once", args->once, "Print the table once and exit (the default when not on a terminal)");
	cmd->callback([&ctx, args] {
		ctx.require_root("top");
		int sort = find_conn_column(args->sort);
		if (sort < 0)
			throw Error(ErrorKind::usage, "unknown sort column '" + args->sort + "' (see tcpxi top --help)");
		bool reverse = args->reverse;
		StatsQuery query;
		if (!args->cgroup.empty())
			query.cgroup = args->cgroup;
		query.connections = true;
		const bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && !args->once;
		if (!tty) {
			std::cout << render(read_stats(ctx.tcpxi(), query), sort, reverse, 0, 0, false);
			return;
		}
		struct sigaction sa {};
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, nullptr);
		sigaction(SIGTERM, &sa, nullptr);
		Terminal term;
		const int ncols = int(conn_columns().size());
		auto next = std::chrono::steady_clock::now();
		StatsSnapshot snap;
		bool reread = true;
		while (!stop_requested) {
			if (reread) {
				snap = read_stats(ctx.tcpxi(), query);
				next = std::chrono::steady_clock::now() +
				       std::chrono::milliseconds(static_cast<long>(args->interval * 1000));
			}
			auto [rows, cols] = Terminal::size();
			std::cout << "\033[H" << render(snap, sort, reverse, rows, cols, true) << "\033[J" << std::flush;
			int wait = int(std::chrono::duration_cast<std::chrono::milliseconds>(next - std::chrono::steady_clock::now())
					       .count());
			pollfd pfd{STDIN_FILENO, POLLIN, 0};
			int ready = poll(&pfd, 1, std::max(wait, 0));
			reread = ready <= 0;
			if (ready <= 0)
				continue;
			char keys[16];
			ssize_t n = read(STDIN_FILENO, keys, sizeof(keys));
			if (n <= 0) // the terminal went away
				break;
			for (ssize_t i = 0; i < n; i++) {
				char k = keys[i];
				// Arrow keys arrive as ESC [ C (right) and ESC [ D (left).
				if (k == '\033' && i + 2 < n && keys[i + 1] == '[') {
					k = keys[i + 2] == 'C' ? '>' : keys[i + 2] == 'D' ? '<' : 0;
					i += 2;
				}
				if (k == 'q' || k == 'Q')
					stop_requested = 1;
				else if (k == '>' || k == '.')
					sort = (sort + 1) % ncols;
				else if (k == '<' || k == ',')
					sort = (sort + ncols - 1) % ncols;
				else if (k == 'r' || k == 'R')
					reverse = !reverse;
			}
		}
		stop_requested = 0;
	});
}

} // namespace tcpxi::cli
