// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi-bench-status: times libtcpxi's read path in-process (no process start-up),
// split into its parts, to tell where `tcpxi status` spends its time.
//
//   tcpxi-bench-status [--instance NAME] [--repeat N]
//
// Prints JSON: median, min and max milliseconds of
//   status            Tcpxi::status() as `tcpxi status` calls it
//   cgroup_paths      cgroup_paths_by_id(): the walk of the cgroup2 tree it does
// each as wall_ms, cpu_ms (user + system time of the process) and runqueue_wait_ms
// (time runnable but waiting for a CPU other tasks held, from schedstat): on a busy
// machine wall = cpu + runqueue wait + time blocked in the kernel.
#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tcpxi/tcpxi.hpp>

#include "stats.hpp"

namespace {

double now_ms(clockid_t clock)
{
	timespec ts {};
	clock_gettime(clock, &ts);
	return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

// Time this thread waited on a run queue (runnable, but another task had the CPU).
double runqueue_wait_ms()
{
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	unsigned long long on_cpu = 0, waited = 0;
	if (f) {
		if (fscanf(f, "%llu %llu", &on_cpu, &waited) != 2)
			waited = 0;
		fclose(f);
	}
	return double(waited) / 1e6;
}

template <typename F> nlohmann::json time_it(int repeat, F &&f)
{
	std::vector<double> wall, cpu, wait;
	for (int i = 0; i < repeat; i++) {
		double q0 = runqueue_wait_ms();
		double w0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
		f();
		wall.push_back(now_ms(CLOCK_MONOTONIC) - w0);
		cpu.push_back(now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
		wait.push_back(runqueue_wait_ms() - q0);
	}
	auto w = tcpxi::bench::summarize(wall), c = tcpxi::bench::summarize(cpu);
	auto q = tcpxi::bench::summarize(wait);
	return {{"wall_ms", w.to_json()}, {"cpu_ms", c.to_json()}, {"runqueue_wait_ms", q.to_json()}};
}

} // namespace

int main(int argc, char **argv)
{
	tcpxi::Options options;
	int repeat = 10;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--instance" && i + 1 < argc)
			options.instance = argv[++i];
		else if (a == "--repeat" && i + 1 < argc)
			repeat = std::stoi(argv[++i]);
		else {
			std::cerr << "usage: tcpxi-bench-status [--instance NAME] [--repeat N]\n";
			return 2;
		}
	}
	if (const char *env = getenv("TCPXI_INSTANCE"); env && options.instance == "tcpxi")
		options.instance = env;
	try {
		tcpxi::Tcpxi tcpxi(options);
		size_t attachments = 0, cgroups = 0;
		nlohmann::json out;
		out["instance"] = options.instance;
		out["status"] = time_it(repeat, [&] { attachments = tcpxi.status().attachments.size(); });
		out["cgroup_paths"] = time_it(repeat, [&] { cgroups = tcpxi::cgroup_paths_by_id().size(); });
		out["attachments"] = attachments;
		out["cgroups"] = cgroups;
		std::cout << out.dump(2) << '\n';
	} catch (const tcpxi::Error &e) {
		std::cerr << "tcpxi-bench-status: " << e.what() << '\n';
		return e.exit_code();
	}
	return 0;
}
