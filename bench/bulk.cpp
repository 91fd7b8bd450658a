// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi-bench-bulk: bulk throughput of iperf3 clients placed in cgroups (each cgroup
// selects a congestion control), against one iperf3 server, alternating the cases in
// rounds (forward in even rounds, backward in odd ones).
//
// The client runs in network namespace --client-netns, the server in --server-netns
// (both created beforehand, e.g. by scripts/bench: `ip netns add`), each process
// moved into its cgroup before it starts. CPU cost comes from the cgroups' cpu.stat
// (usage_usec of the client's and the server's cgroup), so other work on the machine
// does not count.
//
//   tcpxi-bench-bulk --client-netns tcpxi-bench-lo --server-netns tcpxi-bench-lo
//       --server 127.0.0.1 --server-cgroup tcpxi-bench-srv
//       kcubic=tcpxi-bench-kcubic xcubic=tcpxi-bench-xcubic@kcubic
//
// NAME=CGROUP@BASE: the case's ratio is taken against case BASE.
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <nlohmann/json.hpp>

#include "stats.hpp"

namespace {

using json = nlohmann::json;
using tcpxi::bench::summarize;

struct Case {
	std::string name, cgroup, base;
};

struct Config {
	std::string client_netns, server_netns, server_addr, server_cgroup;
	std::string iperf3 = "iperf3";
	double seconds = 3;
	int omit = 1;
	int rounds = 4;
	int port = 5299;
	std::string json_path = "-";
	std::vector<Case> cases;
	bool bpf_stats = false;
	std::vector<uint32_t> watch;
};

pid_t server_pid = -1;

[[noreturn]] void die(const std::string &message)
{
	std::cerr << "tcpxi-bench-bulk: " << message << '\n';
	if (server_pid > 0)
		kill(server_pid, SIGTERM);
	exit(1);
}

void on_signal(int sig)
{
	if (server_pid > 0)
		kill(server_pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

std::string cgroup2_mount()
{
	std::ifstream mounts("/proc/mounts");
	std::string line;
	while (std::getline(mounts, line)) {
		std::istringstream fields(line);
		std::string source, target, type;
		fields >> source >> target >> type;
		if (type == "cgroup2")
			return target;
	}
	die("no cgroup2 file system is mounted");
}

std::string absolute_cgroup(const std::string &spec)
{
	if (spec.empty() || spec[0] == '/')
		return spec;
	static std::string mount = cgroup2_mount();
	return mount + "/" + spec;
}

// usage_usec of a cgroup's cpu.stat (present in cgroup v2 without any controller).
uint64_t cgroup_cpu_usec(const std::string &cgroup)
{
	std::ifstream stat(cgroup + "/cpu.stat");
	std::string key;
	uint64_t value = 0;
	while (stat >> key >> value)
		if (key == "usage_usec")
			return value;
	return 0;
}

// Child side: join the cgroup and the network namespace, then exec. Async-signal-safe
// calls only until exec.
[[noreturn]] void exec_in(const char *procs, const char *netns_path, char *const argv[], int out_fd, bool quiet)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM); // kept across exec: iperf3 ends with us
	if (procs[0]) {
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		char pid[24];
		int len = snprintf(pid, sizeof(pid), "%d", getpid());
		if (fd < 0 || write(fd, pid, len) != len)
			_exit(120);
		close(fd);
	}
	if (netns_path[0]) {
		int fd = open(netns_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			_exit(121);
		close(fd);
	}
	int devnull = open("/dev/null", O_WRONLY);
	dup2(out_fd >= 0 ? out_fd : devnull, 1);
	if (quiet)
		dup2(devnull, 2);
	execvp(argv[0], argv);
	_exit(127);
}

pid_t spawn(const std::string &cgroup, const std::string &netns, const std::vector<std::string> &args, int out_fd,
	    bool quiet = false)
{
	std::string procs = cgroup.empty() ? "" : cgroup + "/cgroup.procs";
	std::string ns = netns.empty() ? "" : "/run/netns/" + netns;
	std::vector<char *> argv;
	for (const auto &a : args)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: " + std::string(strerror(errno)));
	if (pid == 0)
		exec_in(procs.c_str(), ns.c_str(), argv.data(), out_fd, quiet);
	return pid;
}

struct Run {
	double gbps = 0;
	double bytes = 0;
	double seconds = 0;
	uint64_t retransmits = 0;
	std::string congestion;
	double client_cpu_s = 0, server_cpu_s = 0;
	double cpu_s_per_gb = 0;
};

Run run_client(const Config &cfg, const Case &c)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC))
		die("pipe");
	uint64_t c0 = cgroup_cpu_usec(c.cgroup), s0 = cgroup_cpu_usec(cfg.server_cgroup);
	char secs[32];
	snprintf(secs, sizeof(secs), "%g", cfg.seconds);
	pid_t pid = spawn(c.cgroup, cfg.client_netns,
			  {cfg.iperf3, "-c", cfg.server_addr, "-p", std::to_string(cfg.port), "-t", secs, "-O",
			   std::to_string(cfg.omit), "-J"},
			  pipefd[1]);
	close(pipefd[1]);
	std::string text;
	char buf[65536];
	for (ssize_t n; (n = read(pipefd[0], buf, sizeof(buf))) > 0;)
		text.append(buf, n);
	close(pipefd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	uint64_t c1 = cgroup_cpu_usec(c.cgroup), s1 = cgroup_cpu_usec(cfg.server_cgroup);
	Run r;
	json j;
	try {
		j = json::parse(text);
	} catch (const std::exception &) {
		die("case " + c.name + ": iperf3 exited " + std::to_string(WEXITSTATUS(status)) + " without JSON" +
		    (WEXITSTATUS(status) >= 120 && WEXITSTATUS(status) <= 121 ? " (cannot join cgroup or netns)" : ""));
	}
	if (j.contains("error"))
		die("case " + c.name + ": iperf3: " + j["error"].get<std::string>());
	const auto &sent = j["end"]["sum_sent"];
	r.bytes = sent.value("bytes", 0.0);
	r.seconds = sent.value("seconds", 0.0);
	r.gbps = sent.value("bits_per_second", 0.0) / 1e9;
	r.retransmits = sent.value("retransmits", uint64_t(0));
	r.congestion = j["end"].value("sender_tcp_congestion", "");
	r.client_cpu_s = (c1 - c0) / 1e6;
	r.server_cpu_s = (s1 - s0) / 1e6;
	// CPU over the whole run (omitted warm-up included), bytes over the whole run too.
	double total_bytes = r.bytes;
	if (j["intervals"].is_array())
		for (const auto &iv : j["intervals"])
			if (iv["sum"].value("omitted", false))
				total_bytes += iv["sum"].value("bytes", 0.0);
	r.cpu_s_per_gb = total_bytes > 0 ? (r.client_cpu_s + r.server_cpu_s) / (total_bytes / 1e9) : 0;
	return r;
}

// Run-time statistics of one program (kept by the kernel while BPF_ENABLE_STATS is on).
bool prog_stats(uint32_t id, std::string &name, uint64_t &run_ns, uint64_t &runs)
{
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	bpf_prog_info info {};
	uint32_t len = sizeof(info);
	bool ok = !bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	name = info.name;
	run_ns = info.run_time_ns;
	runs = info.run_cnt;
	return ok;
}

void usage()
{
	std::cerr << R"(usage: tcpxi-bench-bulk [OPTIONS] NAME=CGROUP[@BASE]...

  --client-netns NS   network namespace of the clients (ip netns name)
  --server-netns NS   network namespace of the server
  --server ADDR       address the clients connect to
  --server-cgroup CG  cgroup of the iperf3 server (for its CPU time; nothing attached)
  --seconds S         measured seconds per run (default 3)
  --omit S            unmeasured seconds at the start of each run (default 1)
  --rounds R          rounds (default 4)
  --port P            iperf3 port (default 5299)
  --json FILE         write JSON there (default: stdout)
  --bpf-stats         after the rounds, one more run per case with a BASE with the kernel's BPF
                      run-time statistics on (BPF_ENABLE_STATS, off again at exit):
                      time spent in the --watch-prog programs per GB sent
  --watch-prog ID     a program to account (e.g. a struct_ops congestion control's)
)";
	exit(2);
}

} // namespace

int main(int argc, char **argv)
{
	Config cfg;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&]() -> std::string {
			if (i + 1 >= argc)
				usage();
			return argv[++i];
		};
		try {
			if (a == "--client-netns")
				cfg.client_netns = value();
			else if (a == "--server-netns")
				cfg.server_netns = value();
			else if (a == "--server")
				cfg.server_addr = value();
			else if (a == "--server-cgroup")
				cfg.server_cgroup = absolute_cgroup(value());
			else if (a == "--seconds")
				cfg.seconds = std::stod(value());
			else if (a == "--omit")
				cfg.omit = std::stoi(value());
			else if (a == "--rounds")
				cfg.rounds = std::stoi(value());
			else if (a == "--port")
				cfg.port = std::stoi(value());
			else if (a == "--json")
				cfg.json_path = value();
			else if (a == "--bpf-stats")
				cfg.bpf_stats = true;
			else if (a == "--watch-prog")
				cfg.watch.push_back(std::stoul(value()));
			else if (a[0] != '-' && a.find('=') != std::string::npos) {
				Case c;
				c.name = a.substr(0, a.find('='));
				std::string rest = a.substr(a.find('=') + 1);
				if (auto at = rest.find('@'); at != std::string::npos) {
					c.base = rest.substr(at + 1);
					rest = rest.substr(0, at);
				}
				c.cgroup = absolute_cgroup(rest);
				cfg.cases.push_back(c);
			} else
				usage();
		} catch (const std::logic_error &) {
			usage();
		}
	}
	if (cfg.cases.empty() || cfg.server_addr.empty() || cfg.server_cgroup.empty() || cfg.rounds < 1)
		usage();
	for (const auto &c : cfg.cases) {
		if (!c.base.empty() && std::none_of(cfg.cases.begin(), cfg.cases.end(),
						     [&](const Case &o) { return o.name == c.base; }))
			die("case " + c.name + ": no case named " + c.base);
		if (access((c.cgroup + "/cgroup.procs").c_str(), W_OK))
			die("case " + c.name + ": " + c.cgroup + " is not a writable cgroup");
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	// The server: foreground (no -D), so it is our child and dies with us.
	server_pid = spawn(cfg.server_cgroup, cfg.server_netns,
			   {cfg.iperf3, "-s", "-p", std::to_string(cfg.port)}, -1, true);
	usleep(300000);
	if (waitpid(server_pid, nullptr, WNOHANG) == server_pid) {
		server_pid = -1;
		die("the iperf3 server exited at once (port " + std::to_string(cfg.port) + " taken?)");
	}

	std::vector<std::vector<Run>> runs(cfg.cases.size());
	for (int round = 0; round < cfg.rounds; round++) {
		for (size_t k = 0; k < cfg.cases.size(); k++) {
			size_t i = round % 2 == 0 ? k : cfg.cases.size() - 1 - k;
			Run r = run_client(cfg, cfg.cases[i]);
			fprintf(stderr, "  round %d  %-10s %-16s %7.2f Gbit/s  retrans %6lu  cpu %.2f s/GB\n", round + 1,
				cfg.cases[i].name.c_str(), r.congestion.c_str(), r.gbps, (unsigned long)r.retransmits,
				r.cpu_s_per_gb);
			runs[i].push_back(r);
			usleep(200000); // let the server settle before the next test
		}
	}
	std::vector<json> bpf_by_case(cfg.cases.size());
	if (cfg.bpf_stats) {
		int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			die("cannot enable BPF run-time statistics: " + std::string(strerror(errno)));
		for (size_t i = 0; i < cfg.cases.size(); i++) {
			if (cfg.cases[i].base.empty())
				continue; // a baseline (the kernel's algorithm) runs no watched program
			size_t n = cfg.watch.size();
			std::vector<uint64_t> ns0(n), runs0(n), ns1(n), runs1(n);
			std::vector<std::string> names(n);
			std::vector<bool> ok(n);
			for (size_t k = 0; k < n; k++)
				ok[k] = prog_stats(cfg.watch[k], names[k], ns0[k], runs0[k]);
			Run r = run_client(cfg, cfg.cases[i]);
			for (size_t k = 0; k < n; k++)
				ok[k] = ok[k] && prog_stats(cfg.watch[k], names[k], ns1[k], runs1[k]);
			double gb = r.bytes / 1e9, total_ns = 0, total_runs = 0;
			json progs = json::array();
			for (size_t k = 0; k < n; k++) {
				uint64_t runs = runs1[k] - runs0[k], ns = ns1[k] - ns0[k];
				if (!ok[k] || !runs || gb <= 0)
					continue;
				total_ns += ns;
				total_runs += runs;
				progs.push_back({{"id", cfg.watch[k]}, {"name", names[k]}, {"runs_per_gb", runs / gb},
						 {"ns_per_run", double(ns) / runs}, {"ms_per_gb", ns / 1e6 / gb}});
			}
			// omitted seconds are not in r.bytes but their runs are counted: scale by time
			double share = r.seconds > 0 ? r.seconds / (r.seconds + cfg.omit) : 1.0;
			bpf_by_case[i] = {{"gbps", r.gbps},
					  {"ms_per_gb", gb > 0 ? total_ns * share / 1e6 / gb : 0.0},
					  {"runs_per_gb", gb > 0 ? total_runs * share / gb : 0.0},
					  {"ns_per_run", total_runs > 0 ? total_ns / total_runs : 0.0},
					  {"programs", progs}};
			if (total_runs > 0)
				fprintf(stderr, "  bpf stats  %-10s %.1f ms in BPF per GB (%.0f runs/GB, %.0f ns each)\n",
					cfg.cases[i].name.c_str(), total_ns * share / 1e6 / gb, total_runs * share / gb,
					total_ns / total_runs);
			usleep(200000);
		}
		close(stats_fd);
	}
	kill(server_pid, SIGTERM);
	waitpid(server_pid, nullptr, 0);
	server_pid = -1;

	json out;
	out["tool"] = "tcpxi-bench-bulk";
	out["client_netns"] = cfg.client_netns;
	out["server_netns"] = cfg.server_netns;
	out["server"] = cfg.server_addr;
	out["seconds"] = cfg.seconds;
	out["omit"] = cfg.omit;
	out["rounds"] = cfg.rounds;
	json cases = json::array();
	auto index_of = [&](const std::string &name) {
		for (size_t i = 0; i < cfg.cases.size(); i++)
			if (cfg.cases[i].name == name)
				return i;
		return size_t(0);
	};
	for (size_t i = 0; i < cfg.cases.size(); i++) {
		std::vector<double> gbps, cpu, retrans, paired;
		json rounds = json::array();
		std::string congestion;
		for (size_t r = 0; r < runs[i].size(); r++) {
			const Run &x = runs[i][r];
			gbps.push_back(x.gbps);
			cpu.push_back(x.cpu_s_per_gb);
			retrans.push_back(double(x.retransmits));
			congestion = x.congestion;
			rounds.push_back({{"gbps", x.gbps}, {"bytes", x.bytes}, {"seconds", x.seconds},
					  {"retransmits", x.retransmits}, {"congestion", x.congestion},
					  {"client_cpu_s", x.client_cpu_s}, {"server_cpu_s", x.server_cpu_s},
					  {"cpu_s_per_gb", x.cpu_s_per_gb}});
		}
		auto s = summarize(gbps);
		json c = {{"name", cfg.cases[i].name},
			  {"cgroup", cfg.cases[i].cgroup},
			  {"congestion", congestion},
			  {"gbps", s.to_json()},
			  {"cpu_s_per_gb", summarize(cpu).to_json()},
			  {"retransmits", summarize(retrans).to_json()},
			  {"rounds", rounds}};
		if (cfg.bpf_stats && !bpf_by_case[i]["programs"].empty())
			c["bpf"] = bpf_by_case[i];
		if (!cfg.cases[i].base.empty()) {
			size_t b = index_of(cfg.cases[i].base);
			std::vector<double> base_gbps, base_cpu;
			for (size_t r = 0; r < runs[b].size(); r++) {
				base_gbps.push_back(runs[b][r].gbps);
				base_cpu.push_back(runs[b][r].cpu_s_per_gb);
				if (runs[b][r].gbps > 0)
					paired.push_back(runs[i][r].gbps / runs[b][r].gbps);
			}
			double base_median = summarize(base_gbps).median;
			double base_cpu_median = summarize(base_cpu).median;
			c["base"] = cfg.cases[i].base;
			c["ratio"] = base_median > 0 ? s.median / base_median : 0.0;
			c["paired_ratio"] = summarize(paired).to_json();
			c["cpu_ratio"] = base_cpu_median > 0 ? summarize(cpu).median / base_cpu_median : 0.0;
			fprintf(stderr, "%-10s %-16s median %7.2f Gbit/s [min %.2f max %.2f]  vs %s: %.3f (paired %.3f)  "
					"cpu %.2f s/GB (x%.3f)\n",
				cfg.cases[i].name.c_str(), congestion.c_str(), s.median, s.min, s.max,
				cfg.cases[i].base.c_str(), c["ratio"].get<double>(), summarize(paired).median,
				summarize(cpu).median, c["cpu_ratio"].get<double>());
		} else {
			fprintf(stderr, "%-10s %-16s median %7.2f Gbit/s [min %.2f max %.2f]  cpu %.2f s/GB\n",
				cfg.cases[i].name.c_str(), congestion.c_str(), s.median, s.min, s.max, summarize(cpu).median);
		}
		cases.push_back(c);
	}
	out["cases"] = cases;
	if (cfg.json_path == "-") {
		std::cout << out.dump(2) << '\n';
	} else {
		std::ofstream file(cfg.json_path);
		file << out.dump(2) << '\n';
	}
	return 0;
}
