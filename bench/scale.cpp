// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi-bench-scale: how the loader scales with the number of attachments.
//
// Creates cgroups PARENT/c1..cN, attaches `tune` to them one `tcpxi attach` command
// each (as a user or a script would), growing through the levels (1, 10, 100, 1000),
// and at each level times `tcpxi status` and `tcpxi status --json` and checks in the
// kernel that there is still ONE tune program (our pinned one) with one link per
// cgroup. Then detaches them one command each, removes the cgroups, and checks that
// the program is gone.
//
// Every command is timed three ways: wall clock, CPU (user + system, from wait4) and
// run-queue wait (runnable, waiting for a CPU other tasks held, from schedstat), so
// that a busy machine shows up as waiting rather than as tcpxi being slow.
//
//   tcpxi-bench-scale --tcpxi build/tcpxi --instance NAME --parent /sys/fs/cgroup/x
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <nlohmann/json.hpp>

#include "stats.hpp"

namespace {

using json = nlohmann::json;
using tcpxi::bench::summarize;

[[noreturn]] void die(const std::string &message)
{
	std::cerr << "tcpxi-bench-scale: " << message << '\n';
	exit(1);
}

double now_ms()
{
	timespec ts {};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

struct Timing {
	double wall_ms = 0, cpu_ms = 0, wait_ms = 0;
	int status = 0;
	std::string out, err;
};

std::string read_all(int fd)
{
	std::string text;
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		text.append(buf, n);
	}
	return text;
}

// Runs argv; keeps stdout if asked (else /dev/null) and stderr.
Timing run(const std::vector<std::string> &args, bool keep_stdout)
{
	int out_pipe[2], err_pipe[2];
	if (pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC))
		die("pipe: " + std::string(strerror(errno)));
	std::vector<char *> argv;
	for (const auto &a : args)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: " + std::string(strerror(errno)));
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(keep_stdout ? out_pipe[1] : devnull, 1);
		dup2(err_pipe[1], 2);
		execv(argv[0], argv.data());
		_exit(127);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	Timing t;
	t.out = read_all(out_pipe[0]); // stderr is small: it fits the pipe meanwhile
	t.err = read_all(err_pipe[0]);
	close(out_pipe[0]);
	close(err_pipe[0]);
	siginfo_t info {};
	waitid(P_PID, pid, &info, WEXITED | WNOWAIT); // a zombie still has its schedstat
	t.wall_ms = now_ms() - t0;
	std::ifstream sched("/proc/" + std::to_string(pid) + "/schedstat");
	unsigned long long on_cpu = 0, waited = 0;
	sched >> on_cpu >> waited;
	t.wait_ms = double(waited) / 1e6;
	rusage ru {};
	int status = 0;
	wait4(pid, &status, 0, &ru);
	t.cpu_ms = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		   double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	t.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return t;
}

json summary(const std::vector<Timing> &runs)
{
	std::vector<double> wall, cpu, wait;
	double total = 0;
	for (const auto &r : runs) {
		wall.push_back(r.wall_ms);
		cpu.push_back(r.cpu_ms);
		wait.push_back(r.wait_ms);
		total += r.wall_ms;
	}
	auto w = summarize(wall);
	std::sort(wall.begin(), wall.end());
	return {{"count", runs.size()},
		{"total_wall_ms", total},
		{"wall_ms", w.to_json()},
		{"p90_wall_ms", tcpxi::bench::quantile(wall, 0.9)},
		{"cpu_ms", summarize(cpu).to_json()},
		{"runqueue_wait_ms", summarize(wait).to_json()}};
}

struct Prog {
	uint32_t id = 0;
	std::string name;
	uint64_t memlock = 0;
	std::vector<uint32_t> map_ids;
};

std::vector<Prog> all_progs()
{
	std::vector<Prog> progs;
	uint32_t id = 0;
	while (!bpf_prog_get_next_id(id, &id)) {
		int fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		bpf_prog_info info {};
		uint32_t map_ids[16];
		info.nr_map_ids = 16;
		info.map_ids = reinterpret_cast<uint64_t>(map_ids);
		uint32_t len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			Prog p;
			p.id = id;
			p.name = info.name;
			p.map_ids.assign(map_ids, map_ids + std::min<uint32_t>(info.nr_map_ids, 16));
			progs.push_back(p);
		}
		close(fd);
	}
	return progs;
}

// bytes_memlock as bpftool shows it: read from /proc/self/fdinfo of an fd.
uint64_t fdinfo_memlock(int fd)
{
	std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
	std::string line;
	while (std::getline(info, line))
		if (line.rfind("memlock:", 0) == 0)
			return std::stoull(line.substr(8));
	return 0;
}

uint32_t pinned_prog_id(const std::string &path, uint64_t *memlock = nullptr)
{
	int fd = bpf_obj_get(path.c_str());
	if (fd < 0)
		return 0;
	bpf_prog_info info {};
	uint32_t len = sizeof(info);
	uint32_t id = bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
	if (memlock)
		*memlock = fdinfo_memlock(fd);
	close(fd);
	return id;
}

unsigned links_of_prog(uint32_t prog_id)
{
	unsigned n = 0;
	uint32_t id = 0;
	while (!bpf_link_get_next_id(id, &id)) {
		int fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		bpf_link_info info {};
		uint32_t len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.prog_id == prog_id)
			n++;
		close(fd);
	}
	return n;
}

json map_memlock(const std::vector<uint32_t> &ids)
{
	json maps = json::array();
	for (uint32_t id : ids) {
		int fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		bpf_map_info info {};
		uint32_t len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			maps.push_back({{"id", id}, {"name", info.name}, {"type", info.type}, {"memlock", fdinfo_memlock(fd)}});
		close(fd);
	}
	return maps;
}

std::map<std::string, long> meminfo_kb()
{
	std::map<std::string, long> values;
	std::ifstream file("/proc/meminfo");
	std::string key;
	long value;
	std::string unit;
	while (file >> key >> value) {
		std::getline(file, unit);
		key.pop_back(); // ':'
		values[key] = value;
	}
	return values;
}

void usage()
{
	std::cerr << R"(usage: tcpxi-bench-scale --tcpxi PATH --instance NAME --parent CGROUP_DIR [OPTIONS]

  --levels A,B,..  attachment counts to measure at (default 1,10,100,1000)
  --repeat N       runs of each status command per level (default 5)
  --json FILE      write JSON there (default: stdout)
  --status-probe P also run P (tcpxi-bench-status) at each level: libtcpxi's status
                   timed in-process, split into its parts
The parent directory (absolute, under the cgroup2 mount) is created if missing;
its children c1..cN are created and removed by this tool.
)";
	exit(2);
}

} // namespace

int main(int argc, char **argv)
{
	std::string tcpxi, instance, parent, json_path = "-", probe;
	std::vector<int> levels = {1, 10, 100, 1000};
	int repeat = 5;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&]() -> std::string {
			if (i + 1 >= argc)
				usage();
			return argv[++i];
		};
		if (a == "--tcpxi")
			tcpxi = value();
		else if (a == "--instance")
			instance = value();
		else if (a == "--parent")
			parent = value();
		else if (a == "--json")
			json_path = value();
		else if (a == "--status-probe")
			probe = value();
		else if (a == "--repeat")
			repeat = std::stoi(value());
		else if (a == "--levels") {
			levels.clear();
			std::stringstream list(value());
			std::string item;
			while (std::getline(list, item, ','))
				levels.push_back(std::stoi(item));
		} else
			usage();
	}
	if (tcpxi.empty() || instance.empty() || parent.empty() || parent[0] != '/' || levels.empty())
		usage();
	std::sort(levels.begin(), levels.end());
	const int max = levels.back();
	const std::string bpffs_dir = "/sys/fs/bpf/" + instance;
	const std::string prog_pin = bpffs_dir + "/plugins/tune/prog";
	const std::vector<std::string> base = {tcpxi, "--instance", instance};
	auto cmd = [&](std::vector<std::string> extra) {
		std::vector<std::string> args = base;
		args.insert(args.end(), extra.begin(), extra.end());
		return args;
	};
	auto cgroup = [&](int i) { return parent + "/c" + std::to_string(i); };

	if (pinned_prog_id(prog_pin))
		die("tune is already loaded for instance " + instance + ": run on a clean instance");
	size_t tune_before = 0;
	for (const auto &p : all_progs())
		tune_before += p.name == "tcpxi_tune";
	auto mem_before = meminfo_kb();

	mkdir(parent.c_str(), 0755);
	double t0 = now_ms();
	for (int i = 1; i <= max; i++)
		if (mkdir(cgroup(i).c_str(), 0755) && errno != EEXIST)
			die("mkdir " + cgroup(i) + ": " + strerror(errno));
	double mkdir_ms = now_ms() - t0;

	json out;
	out["tool"] = "tcpxi-bench-scale";
	out["instance"] = instance;
	out["mkdir_cgroups_ms"] = mkdir_ms;
	out["tune_programs_of_others"] = tune_before;
	json level_results = json::array();
	bool failed = false;
	std::string failure;
	int attached = 0;
	std::vector<Timing> all_attach;
	double cumulative_ms = 0;
	for (int level : levels) {
		std::vector<Timing> attach;
		for (; attached < level && !failed; attached++) {
			Timing t = run(cmd({"attach", cgroup(attached + 1), "tune", "--set", "init_cwnd=32", "--set",
					    "nodelay=on"}),
				       false);
			if (t.status) {
				failed = true;
				failure = "attach " + cgroup(attached + 1) + " exited " + std::to_string(t.status) + ": " + t.err;
				break;
			}
			cumulative_ms += t.wall_ms;
			attach.push_back(t);
			all_attach.push_back(t);
		}
		if (failed)
			break;
		std::vector<Timing> status, status_json;
		size_t listed = 0;
		for (int r = 0; r < repeat; r++) {
			status.push_back(run(cmd({"status"}), false));
			status_json.push_back(run(cmd({"--json", "status"}), true));
			if (status.back().status || status_json.back().status) {
				failed = true;
				failure = "status failed: " + status.back().err + status_json.back().err;
				break;
			}
			try {
				auto parsed = json::parse(status_json.back().out);
				listed = parsed.at("attachments").size();
			} catch (const std::exception &e) {
				failed = true;
				failure = std::string("status --json printed no JSON: ") + e.what();
			}
		}
		if (failed)
			break;

		uint64_t prog_memlock = 0;
		uint32_t ours = pinned_prog_id(prog_pin, &prog_memlock);
		size_t tune_total = 0, ours_count = 0;
		std::vector<uint32_t> map_ids;
		for (const auto &p : all_progs()) {
			if (p.name != "tcpxi_tune")
				continue;
			tune_total++;
			if (p.id == ours) {
				ours_count++;
				map_ids = p.map_ids;
			}
		}
		unsigned links = links_of_prog(ours);
		json maps = map_memlock(map_ids);
		uint64_t maps_memlock = 0;
		for (const auto &m : maps)
			maps_memlock += m["memlock"].get<uint64_t>();
		json probe_json;
		if (!probe.empty()) {
			Timing t = run({probe, "--instance", instance, "--repeat", std::to_string(repeat)}, true);
			try {
				probe_json = json::parse(t.out);
			} catch (const std::exception &) {
				probe_json = {{"error", t.err}};
			}
		}
		auto mem = meminfo_kb();
		json jl = {{"in_process", probe_json},{"attachments", level},
			   {"attach_first_command", attach.empty() || level != levels.front() ? json(nullptr)
											      : json({{"wall_ms", attach.front().wall_ms},
												      {"cpu_ms", attach.front().cpu_ms}})},
			   {"attach_commands", summary(attach)},
			   {"attach_cumulative_wall_ms", cumulative_ms},
			   {"status", summary(status)},
			   {"status_json", summary(status_json)},
			   {"status_json_attachments", listed},
			   {"tune_prog_id", ours},
			   {"tune_programs_ours", ours_count},
			   {"tune_programs_named_tcpxi_tune", tune_total},
			   {"tune_programs_of_others", tune_total - ours_count},
			   {"links_to_our_tune", links},
			   {"prog_memlock_bytes", prog_memlock},
			   {"maps", maps},
			   {"maps_memlock_bytes", maps_memlock},
			   {"meminfo_delta_kb",
			    {{"Percpu", mem["Percpu"] - mem_before["Percpu"]},
			     {"SUnreclaim", mem["SUnreclaim"] - mem_before["SUnreclaim"]}}}};
		level_results.push_back(jl);
		auto sj = summary(status), sjj = summary(status_json), sa = summary(attach);
		fprintf(stderr,
			"  %5d attachments: attach median %.1f ms (cpu %.1f), total so far %.0f ms; status %.1f ms "
			"(cpu %.1f, run-queue wait %.1f); --json %.1f ms; tcpxi_tune programs: ours %zu, others %zu; "
			"links %u\n",
			level, sa["wall_ms"]["median"].get<double>(), sa["cpu_ms"]["median"].get<double>(), cumulative_ms,
			sj["wall_ms"]["median"].get<double>(), sj["cpu_ms"]["median"].get<double>(),
			sj["runqueue_wait_ms"]["median"].get<double>(), sjj["wall_ms"]["median"].get<double>(), ours_count,
			tune_total - ours_count, links);
	}
	out["levels"] = level_results;
	out["attach_all"] = summary(all_attach);

	// Tear down: one detach command per cgroup, as a user would.
	std::vector<Timing> detach;
	for (int i = 1; i <= attached; i++) {
		Timing t = run(cmd({"detach", cgroup(i), "--all"}), false);
		if (t.status && !failed) {
			failed = true;
			failure = "detach " + cgroup(i) + " exited " + std::to_string(t.status) + ": " + t.err;
		}
		detach.push_back(t);
	}
	out["detach_all"] = summary(detach);
	if (detach.size() >= 10) {
		std::vector<Timing> first(detach.begin(), detach.begin() + detach.size() / 10);
		std::vector<Timing> last(detach.end() - detach.size() / 10, detach.end());
		out["detach_first_tenth"] = summary(first);
		out["detach_last_tenth"] = summary(last);
	}
	for (int i = 1; i <= max; i++)
		rmdir(cgroup(i).c_str());
	rmdir(parent.c_str()); // only if we left it empty
	out["tune_unloaded_after_detach"] = pinned_prog_id(prog_pin) == 0;
	fprintf(stderr, "  detach: %zu commands, median %.1f ms, total %.0f ms; tune unloaded: %s\n", detach.size(),
		out["detach_all"]["wall_ms"]["median"].get<double>(), out["detach_all"]["total_wall_ms"].get<double>(),
		out["tune_unloaded_after_detach"].get<bool>() ? "yes" : "NO");
	out["ok"] = !failed;
	if (failed) {
		out["error"] = failure;
		std::cerr << "tcpxi-bench-scale: " << failure << '\n';
	}
	if (json_path == "-") {
		std::cout << out.dump(2) << '\n';
	} else {
		std::ofstream file(json_path);
		file << out.dump(2) << '\n';
	}
	return failed ? 1 : 0;
}
