// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi-bench-connrate: connection rate (connect, one small request and response,
// close) from client processes placed in given cgroups, against one server, all on
// loopback inside a private network namespace this tool creates (the host's
// interfaces are never touched).
//
// Each case names a cgroup; the cases run in rounds, alternating (forward in even
// rounds, backward in odd ones: A B C C B A A B C ...), so that slow drifts of the
// machine weigh on every case alike. The server stays in the cgroup the tool was
// started in; only the clients join the case's cgroup, so a sock_ops program attached
// there runs for the client side of every connection (the active open), as it would
// for an application's outgoing connections.
//
//   tcpxi-bench-connrate --rounds 5 --seconds 3 none=tcpxi-bench-none tune=tcpxi-bench-tune
//
// Prints a summary on stderr and JSON on stdout (or --json FILE).
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <bpf/bpf.h>
#include <nlohmann/json.hpp>

#include "stats.hpp"

namespace {

using json = nlohmann::json;
using tcpxi::bench::summarize;

struct Config {
	double seconds = 3.0;
	double warmup = 0.5;
	int rounds = 5;
	int concurrent_rounds = 0; // rounds with all cases at once
	int clients = 1;
	size_t size = 64;
	bool netns = true;
	std::string cc; // default congestion control of the private namespace
	long tw_buckets = -1; // tcp_max_tw_buckets of the private namespace
	bool bpf_stats = false;         // one more pass per case with BPF run-time stats on
	std::vector<uint32_t> watch;    // programs to account beyond the cgroup's sock_ops ones
	std::string json_path = "-";
	struct Case {
		std::string name;
		std::string cgroup; // absolute path of a cgroup v2 directory; empty: stay
	};
	std::vector<Case> cases;
};

[[noreturn]] void die(const std::string &message)
{
	std::cerr << "tcpxi-bench-connrate: " << message << '\n';
	exit(2);
}

[[noreturn]] void die_errno(const std::string &what)
{
	die(what + ": " + strerror(errno));
}

uint64_t now_ns(clockid_t clock = CLOCK_MONOTONIC)
{
	timespec ts {};
	clock_gettime(clock, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
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

void write_file(const std::string &path, const std::string &text)
{
	int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die_errno("cannot open " + path);
	if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
		die_errno("cannot write '" + text + "' to " + path);
	close(fd);
}

// A private network namespace with loopback up and enough ephemeral ports for tens of
// thousands of short connections a second (TIME_WAIT reuse on loopback).
void enter_private_netns(const std::string &cc, long tw_buckets)
{
	if (unshare(CLONE_NEWNET))
		die_errno("cannot create a network namespace (unshare(CLONE_NEWNET); run as root)");
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_errno("socket");
	ifreq ifr {};
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		die_errno("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		die_errno("cannot bring lo up");
	close(fd);
	// /proc/sys/net is the namespace of the process that opens it: these are ours.
	write_file("/proc/sys/net/ipv4/ip_local_port_range", "1024 65535");
	write_file("/proc/sys/net/ipv4/tcp_tw_reuse", "1");
	write_file("/proc/sys/net/ipv4/tcp_max_syn_backlog", "8192");
	write_file("/proc/sys/net/core/somaxconn", "8192");
	if (!cc.empty())
		write_file("/proc/sys/net/ipv4/tcp_congestion_control", cc);
	if (tw_buckets >= 0)
		write_file("/proc/sys/net/ipv4/tcp_max_tw_buckets", std::to_string(tw_buckets));
}

// ---- server: one epoll thread; reads a request, answers, closes on the peer's FIN ----

class Server {
public:
	explicit Server(size_t size) : size_(size), response_(size, 'r')
	{
		listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (listen_fd_ < 0)
			die_errno("socket");
		int one = 1;
		setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sockaddr_in addr {};
		addr.sin_family = AF_INET;
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(listen_fd_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)))
			die_errno("bind 127.0.0.1");
		socklen_t len = sizeof(addr);
		getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&addr), &len);
		port_ = ntohs(addr.sin_port);
		if (listen(listen_fd_, 8192))
			die_errno("listen");
		epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
		stop_fd_ = eventfd_like();
		add(listen_fd_);
		add(stop_fd_);
		thread_ = std::thread([this] { run(); });
	}
	~Server()
	{
		uint64_t one = 1;
		if (write(stop_pipe_w_, &one, sizeof(one)) < 0)
			perror("stop server");
		thread_.join();
		close(listen_fd_);
		close(epoll_fd_);
	}
	uint16_t port() const { return port_; }
	// CPU time of the server thread so far.
	uint64_t cpu_ns() const
	{
		clockid_t clock;
		if (pthread_getcpuclockid(const_cast<std::thread &>(thread_).native_handle(), &clock))
			return 0;
		return now_ns(clock);
	}
	uint64_t served() const { return served_.load(std::memory_order_relaxed); }

private:
	int eventfd_like()
	{
		int fds[2];
		if (pipe2(fds, O_CLOEXEC | O_NONBLOCK))
			die_errno("pipe");
		stop_pipe_w_ = fds[1];
		return fds[0];
	}
	void add(int fd)
	{
		epoll_event ev {};
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev))
			die_errno("epoll_ctl");
	}
	void run()
	{
		// The server answers at once (nice -20): the clients, where the cgroup's
		// programs run, are the bottleneck, so their cost shows in full in the rate.
		if (setpriority(PRIO_PROCESS, gettid(), -20))
			perror("tcpxi-bench-connrate: cannot raise the server thread's priority");
		std::vector<size_t> received; // by fd: request bytes so far (SIZE_MAX: answered)
		std::vector<char> buf(std::max<size_t>(size_, 4096));
		epoll_event events[256];
		for (;;) {
			int n = epoll_wait(epoll_fd_, events, 256, -1);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				die_errno("epoll_wait");
			}
			for (int i = 0; i < n; i++) {
				int fd = events[i].data.fd;
				if (fd == stop_fd_)
					return;
				if (fd == listen_fd_) {
					for (;;) {
						int c = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
						if (c < 0)
							break;
						if (received.size() <= size_t(c))
							received.resize(c + 1);
						received[c] = 0;
						add(c);
					}
					continue;
				}
				ssize_t got = read(fd, buf.data(), buf.size());
				if (got > 0 && received[fd] != SIZE_MAX) {
					received[fd] += got;
					if (received[fd] >= size_) {
						if (write(fd, response_.data(), response_.size()) < 0) {
							close(fd); // the client gave up; epoll forgets fd
							continue;
						}
						received[fd] = SIZE_MAX;
						served_.fetch_add(1, std::memory_order_relaxed);
					}
				} else if (got == 0 || (got < 0 && errno != EAGAIN)) {
					close(fd);
				}
			}
		}
	}

	size_t size_;
	std::string response_;
	int listen_fd_ = -1;
	int epoll_fd_ = -1;
	int stop_fd_ = -1;
	int stop_pipe_w_ = -1;
	uint16_t port_ = 0;
	std::atomic<uint64_t> served_ {0};
	std::thread thread_;
};

// ---- client: a child process that joins the cgroup and loops ------------------------

// Latency histogram: buckets of 1/8 of a power of two of nanoseconds.
constexpr int kBuckets = 64 * 8;

int bucket_of(uint64_t ns)
{
	if (ns < 8)
		return 0;
	int log = 63 - __builtin_clzll(ns);
	int sub = int((ns >> (log - 3)) & 7);
	return std::min(kBuckets - 1, log * 8 + sub);
}

double bucket_value(int b)
{
	int log = b / 8, sub = b % 8;
	return std::ldexp(1.0 + (sub + 0.5) / 8.0, log);
}

struct ClientResult {
	int case_index = 0;
	uint64_t conns = 0;
	uint64_t errors = 0;
	uint64_t elapsed_ns = 0;
	uint64_t cpu_ns = 0; // user + system time of the client process
	int first_errno = 0;
	uint32_t hist[kBuckets] = {};
};

// Runs in the forked child: async-signal-safe calls only (the parent has threads).
void client_main(const char *procs_path, int case_index, uint16_t port, size_t size, uint64_t seconds_ns,
		 int start_fd, int result_fd)
{
	static ClientResult r;
	r.case_index = case_index;
	// Die with the parent, and keep none of its descriptors (the listening socket
	// above all: a client holding it would keep connecting to a server nobody runs).
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(6);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != start_fd && fd != result_fd)
			close(fd);
	if (procs_path[0]) {
		int fd = open(procs_path, O_WRONLY | O_CLOEXEC);
		char pid[24];
		int len = snprintf(pid, sizeof(pid), "%d", getpid());
		if (fd < 0 || write(fd, pid, len) != len) {
			r.first_errno = errno ? errno : EIO;
			r.errors = UINT64_MAX; // could not join the cgroup
			if (write(result_fd, &r, sizeof(r)) < 0)
				_exit(3);
			_exit(3);
		}
		close(fd);
	}
	char go;
	if (read(start_fd, &go, 1) != 1)
		_exit(4);

	static char request[65536], response[65536];
	memset(request, 'q', sizeof(request));
	sockaddr_in addr {};
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(port);

	uint64_t start = now_ns(), deadline = start + seconds_ns, t = start;
	while (t < deadline) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0 &&
			  write(fd, request, size) == static_cast<ssize_t>(size);
		size_t got = 0;
		while (ok && got < size) {
			ssize_t n = read(fd, response, sizeof(response));
			if (n <= 0)
				ok = false;
			else
				got += n;
		}
		if (!ok && !r.first_errno)
			r.first_errno = errno;
		if (fd >= 0)
			close(fd);
		uint64_t end = now_ns();
		if (ok) {
			r.conns++;
			r.hist[bucket_of(end - t)]++;
		} else {
			r.errors++;
		}
		t = end;
	}
	r.elapsed_ns = t - start;
	rusage ru {};
	getrusage(RUSAGE_SELF, &ru);
	r.cpu_ns = (uint64_t(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
		    ru.ru_stime.tv_usec) * 1000;
	const char *p = reinterpret_cast<const char *>(&r);
	size_t left = sizeof(r);
	while (left) {
		ssize_t n = write(result_fd, p, left);
		if (n <= 0)
			_exit(5);
		p += n;
		left -= n;
	}
	_exit(0);
}

// Busy jiffies of all CPUs together, from /proc/stat (everything the machine did).
uint64_t cpu_busy_jiffies()
{
	std::ifstream stat("/proc/stat");
	std::string cpu;
	uint64_t v[8] = {};
	stat >> cpu;
	for (auto &x : v)
		stat >> x;
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; // user nice system irq softirq steal
}

struct RoundResult {
	double rate = 0;       // connections per second, all clients together
	uint64_t conns = 0;
	uint64_t errors = 0;
	int first_errno = 0;
	double seconds = 0;
	double client_cpu_us = 0; // per connection
	double server_cpu_us = 0; // per connection
	double system_busy_us = 0; // all CPUs, per connection (includes other load)
	double p50_us = 0, p99_us = 0;
};

// Runs the clients of the given cases at the same time (one case: the alternating
// mode; all cases: the concurrent mode, where every case meets the same moment of the
// machine) and returns one result per case.
std::vector<RoundResult> run_cases(const Config &cfg, const std::vector<size_t> &which, const Server &server,
				   double seconds)
{
	std::vector<std::string> procs;
	for (size_t i : which)
		procs.push_back(cfg.cases[i].cgroup.empty() ? std::string() : cfg.cases[i].cgroup + "/cgroup.procs");
	int start_pipe[2], result_pipe[2];
	if (pipe2(start_pipe, O_CLOEXEC) || pipe2(result_pipe, O_CLOEXEC))
		die_errno("pipe");
	std::vector<pid_t> pids;
	for (size_t k = 0; k < which.size(); k++) {
		for (int i = 0; i < cfg.clients; i++) {
			pid_t pid = fork();
			if (pid < 0)
				die_errno("fork");
			if (pid == 0) {
				close(start_pipe[1]);
				close(result_pipe[0]);
				client_main(procs[k].c_str(), int(k), server.port(), cfg.size, uint64_t(seconds * 1e9),
					    start_pipe[0], result_pipe[1]);
			}
			pids.push_back(pid);
		}
	}
	close(start_pipe[0]);
	close(result_pipe[1]);
	usleep(20000); // let the clients join their cgroup
	auto busy0 = cpu_busy_jiffies();
	uint64_t server_cpu0 = server.cpu_ns();
	std::string go(pids.size(), 'g');
	if (write(start_pipe[1], go.data(), go.size()) != static_cast<ssize_t>(go.size()))
		die_errno("start clients");
	close(start_pipe[1]);

	std::vector<RoundResult> out(which.size());
	std::vector<std::vector<uint64_t>> hist(which.size(), std::vector<uint64_t>(kBuckets, 0));
	std::vector<uint64_t> elapsed(which.size(), 0), client_cpu(which.size(), 0);
	// A client stuck for longer than its run plus a margin means the server is stuck.
	const int timeout_ms = int(seconds * 1000) + 15000;
	for (size_t n_done = 0; n_done < pids.size(); n_done++) {
		ClientResult r;
		char *p = reinterpret_cast<char *>(&r);
		size_t left = sizeof(r);
		while (left) {
			pollfd pfd {result_pipe[0], POLLIN, 0};
			int ready = poll(&pfd, 1, timeout_ms);
			if (ready < 0 && errno == EINTR)
				continue;
			if (ready == 0) {
				for (pid_t pid : pids)
					kill(pid, SIGKILL);
				die("the clients gave no result within " + std::to_string(timeout_ms / 1000) +
				    " s (server stuck?)");
			}
			ssize_t n = read(result_pipe[0], p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				int status = 0;
				std::string why;
				for (pid_t pid : pids)
					if (waitpid(pid, &status, WNOHANG) == pid && (WIFSIGNALED(status) || WEXITSTATUS(status)))
						why = WIFSIGNALED(status) ? " (killed by signal " + std::to_string(WTERMSIG(status)) + ")"
									  : " (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
				die("a client process ended without a result" + why +
				    (n < 0 ? std::string(": ") + strerror(errno) : std::string()));
			}
			p += n;
			left -= n;
		}
		size_t k = size_t(r.case_index);
		if (k >= which.size())
			die("a client reported an unknown case");
		if (r.errors == UINT64_MAX)
			die("cannot move a client into " + procs[k] + ": " + strerror(r.first_errno));
		out[k].conns += r.conns;
		out[k].errors += r.errors;
		if (!out[k].first_errno)
			out[k].first_errno = r.first_errno;
		elapsed[k] = std::max(elapsed[k], r.elapsed_ns);
		client_cpu[k] += r.cpu_ns;
		for (int b = 0; b < kBuckets; b++)
			hist[k][b] += r.hist[b];
	}
	uint64_t server_cpu = server.cpu_ns() - server_cpu0;
	auto busy = cpu_busy_jiffies() - busy0;
	close(result_pipe[0]);
	for (pid_t pid : pids)
		waitpid(pid, nullptr, 0);

	uint64_t all_conns = 0;
	for (const auto &o : out)
		all_conns += o.conns;
	long hz = sysconf(_SC_CLK_TCK);
	for (size_t k = 0; k < which.size(); k++) {
		RoundResult &o = out[k];
		o.seconds = elapsed[k] / 1e9;
		o.rate = o.seconds > 0 ? o.conns / o.seconds : 0;
		if (!o.conns)
			continue;
		o.client_cpu_us = client_cpu[k] / 1e3 / o.conns;
		// Shared by the cases that ran together: per connection of all of them.
		o.server_cpu_us = server_cpu / 1e3 / all_conns;
		o.system_busy_us = double(busy) / hz * 1e6 / all_conns;
		uint64_t seen = 0;
		for (int b = 0; b < kBuckets; b++) {
			seen += hist[k][b];
			if (!o.p50_us && seen * 2 >= o.conns)
				o.p50_us = bucket_value(b) / 1e3;
			if (!o.p99_us && seen * 100 >= o.conns * 99)
				o.p99_us = bucket_value(b) / 1e3;
		}
	}
	return out;
}

RoundResult run_round(const Config &cfg, size_t i, const Server &server, double seconds)
{
	return run_cases(cfg, {i}, server, seconds)[0];
}

// ---- BPF run-time statistics (BPF_ENABLE_STATS: on while the fd is open) ---------

struct ProgStats {
	uint32_t id = 0;
	std::string name;
	uint32_t type = 0;
	uint64_t run_time_ns = 0;
	uint64_t run_cnt = 0;
};

bool prog_stats(uint32_t id, ProgStats &out)
{
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	bpf_prog_info info {};
	uint32_t len = sizeof(info);
	bool ok = !bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (!ok)
		return false;
	out.id = id;
	out.name = info.name;
	out.type = info.type;
	out.run_time_ns = info.run_time_ns;
	out.run_cnt = info.run_cnt;
	return true;
}

// The sock_ops programs that run for sockets of this cgroup (its own and inherited).
std::vector<uint32_t> effective_sockops(const std::string &cgroup)
{
	std::vector<uint32_t> ids;
	if (cgroup.empty())
		return ids;
	int fd = open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ids;
	uint32_t prog_ids[64], count = 64, flags = 0;
	if (!bpf_prog_query(fd, BPF_CGROUP_SOCK_OPS, BPF_F_QUERY_EFFECTIVE, &flags, prog_ids, &count))
		ids.assign(prog_ids, prog_ids + count);
	close(fd);
	return ids;
}

const char *prog_type_name(uint32_t type)
{
	switch (type) {
	case BPF_PROG_TYPE_SOCK_OPS:
		return "sock_ops";
	case BPF_PROG_TYPE_STRUCT_OPS:
		return "struct_ops";
	default:
		return "other";
	}
}

void usage()
{
	std::cerr << R"(usage: tcpxi-bench-connrate [OPTIONS] NAME=CGROUP [NAME=CGROUP...]

Connection rate (connect, SIZE-byte request and response, close) of client processes
placed in each CGROUP (path relative to the cgroup2 mount, or absolute; empty: the
tool's own cgroup), alternating the cases in rounds. The first case is the baseline.

  --seconds S    measured time per case and round (default 3)
  --rounds R     rounds (default 5)
  --warmup S     unmeasured run of each case before the first round (default 0.5)
  --clients N    client processes per case, running together (default 1)
  --size BYTES   request and response size (default 64)
  --cc NAME      default congestion control of the private namespace (default: the
                 host's, which a new namespace inherits); cgroups that attach a
                 congestion control override it for their clients
  --no-netns     stay in the current network namespace (default: a private one)
  --concurrent-rounds N
                 then N rounds with the clients of all cases running at the same
                 time (each case in its own cgroup): every case meets the same
                 moment of a noisy machine; the ratio of their rates in a round is
                 the cost ratio (default 0)
  --bpf-stats    after the rounds, run each case once more with the kernel's BPF
                 run-time statistics on (BPF_ENABLE_STATS, off again at exit) and
                 report the time spent in BPF programs per connection: the cgroup's
                 effective sock_ops programs and every --watch-prog
  --watch-prog ID  a program to account too (e.g. a struct_ops congestion control)
  --json FILE    write JSON there (default: stdout)
)";
	exit(2);
}

Config parse(int argc, char **argv)
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
			if (a == "--seconds")
				cfg.seconds = std::stod(value());
			else if (a == "--rounds")
				cfg.rounds = std::stoi(value());
			else if (a == "--warmup")
				cfg.warmup = std::stod(value());
			else if (a == "--clients")
				cfg.clients = std::stoi(value());
			else if (a == "--size")
				cfg.size = std::stoul(value());
			else if (a == "--tw-buckets")
				cfg.tw_buckets = std::stol(value());
			else if (a == "--concurrent-rounds")
				cfg.concurrent_rounds = std::stoi(value());
			else if (a == "--bpf-stats")
				cfg.bpf_stats = true;
			else if (a == "--watch-prog")
				cfg.watch.push_back(std::stoul(value()));
			else if (a == "--cc")
				cfg.cc = value();
			else if (a == "--no-netns")
				cfg.netns = false;
			else if (a == "--json")
				cfg.json_path = value();
			else if (a == "-h" || a == "--help")
				usage();
			else if (a.find('=') != std::string::npos && a[0] != '-') {
				auto eq = a.find('=');
				Config::Case c {a.substr(0, eq), a.substr(eq + 1)};
				cfg.cases.push_back(c);
			} else
				usage();
		} catch (const std::logic_error &) {
			usage();
		}
	}
	if (cfg.cases.empty() || cfg.rounds < 0 || cfg.concurrent_rounds < 0 || cfg.seconds <= 0 || cfg.clients < 1 || cfg.clients > 64 ||
	    cfg.size < 1 || cfg.size > 65536)
		usage();
	std::string mount;
	for (auto &c : cfg.cases) {
		if (c.cgroup.empty())
			continue;
		if (c.cgroup[0] != '/') {
			if (mount.empty())
				mount = cgroup2_mount();
			c.cgroup = mount + "/" + c.cgroup;
		}
		if (access((c.cgroup + "/cgroup.procs").c_str(), W_OK))
			die_errno("case " + c.name + ": " + c.cgroup + " is not a writable cgroup v2 directory");
	}
	return cfg;
}

} // namespace

int main(int argc, char **argv)
{
	Config cfg = parse(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (cfg.netns)
		enter_private_netns(cfg.cc, cfg.tw_buckets);
	Server server(cfg.size);

	if (cfg.warmup > 0)
		for (size_t i = 0; i < cfg.cases.size(); i++)
			run_round(cfg, i, server, cfg.warmup);

	std::vector<std::vector<RoundResult>> results(cfg.cases.size());
	for (int round = 0; round < cfg.rounds; round++) {
		for (size_t k = 0; k < cfg.cases.size(); k++) {
			size_t i = round % 2 == 0 ? k : cfg.cases.size() - 1 - k;
			RoundResult r = run_round(cfg, i, server, cfg.seconds);
			fprintf(stderr, "  round %d  %-12s %9.0f conn/s  p50 %6.1f us  p99 %7.1f us  errors %lu%s%s\n",
				round + 1, cfg.cases[i].name.c_str(), r.rate, r.p50_us, r.p99_us,
				(unsigned long)r.errors, r.first_errno ? "  first error: " : "",
				r.first_errno ? strerror(r.first_errno) : "");
			results[i].push_back(r);
		}
	}

	std::vector<std::vector<RoundResult>> together(cfg.cases.size());
	if (cfg.concurrent_rounds > 0) {
		std::vector<size_t> all(cfg.cases.size());
		for (size_t i = 0; i < all.size(); i++)
			all[i] = i;
		for (int round = 0; round < cfg.concurrent_rounds; round++) {
			auto rs = run_cases(cfg, all, server, cfg.seconds);
			fprintf(stderr, "  together %2d", round + 1);
			for (size_t i = 0; i < rs.size(); i++) {
				fprintf(stderr, "  %s %.0f", cfg.cases[i].name.c_str(), rs[i].rate);
				together[i].push_back(rs[i]);
			}
			fprintf(stderr, " conn/s\n");
		}
	}

	// Accounting pass: time inside BPF programs per connection, without timing noise
	// from the rest of the machine (it counts only what the programs themselves run).
	std::vector<json> bpf_by_case(cfg.cases.size());
	if (cfg.bpf_stats) {
		int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			die_errno("cannot enable BPF run-time statistics (BPF_ENABLE_STATS)");
		for (size_t i = 0; i < cfg.cases.size(); i++) {
			std::vector<uint32_t> ids = effective_sockops(cfg.cases[i].cgroup);
			for (uint32_t id : cfg.watch)
				if (std::find(ids.begin(), ids.end(), id) == ids.end())
					ids.push_back(id);
			std::vector<ProgStats> before(ids.size()), after(ids.size());
			std::vector<bool> ok(ids.size());
			for (size_t k = 0; k < ids.size(); k++)
				ok[k] = prog_stats(ids[k], before[k]);
			RoundResult r = run_round(cfg, i, server, cfg.seconds);
			for (size_t k = 0; k < ids.size(); k++)
				ok[k] = ok[k] && prog_stats(ids[k], after[k]);
			json progs = json::array();
			double total_ns = 0, total_runs = 0;
			for (size_t k = 0; k < ids.size(); k++) {
				if (!ok[k] || !r.conns)
					continue;
				uint64_t runs = after[k].run_cnt - before[k].run_cnt;
				uint64_t ns = after[k].run_time_ns - before[k].run_time_ns;
				if (!runs)
					continue;
				double per_conn_ns = double(ns) / r.conns, per_conn_runs = double(runs) / r.conns;
				total_ns += per_conn_ns;
				total_runs += per_conn_runs;
				progs.push_back({{"id", ids[k]}, {"name", after[k].name}, {"type", prog_type_name(after[k].type)},
						 {"runs_per_conn", per_conn_runs}, {"ns_per_conn", per_conn_ns},
						 {"ns_per_run", double(ns) / runs}});
			}
			double conn_cpu_ns = (r.client_cpu_us + r.server_cpu_us) * 1e3;
			bpf_by_case[i] = {{"connections", r.conns},
					  {"ns_per_conn", total_ns},
					  {"runs_per_conn", total_runs},
					  {"client_server_cpu_ns_per_conn", conn_cpu_ns},
					  {"programs", progs}};
			fprintf(stderr, "  bpf stats  %-12s %6.0f ns in BPF per connection (%.1f runs)\n",
				cfg.cases[i].name.c_str(), total_ns, total_runs);
		}
		close(stats_fd);
	}

	json out;
	out["tool"] = "tcpxi-bench-connrate";
	out["seconds"] = cfg.seconds;
	out["rounds"] = cfg.rounds;
	out["concurrent_rounds"] = cfg.concurrent_rounds;
	out["clients"] = cfg.clients;
	out["size"] = cfg.size;
	out["netns"] = cfg.netns ? "private" : "current";
	{
		std::ifstream f("/proc/sys/net/ipv4/tcp_congestion_control");
		std::string cc;
		f >> cc;
		out["default_congestion_control"] = cc;
	}
	out["baseline"] = cfg.cases[0].name;
	json cases = json::array();
	std::vector<double> base_rates;
	for (const auto &r : results[0])
		base_rates.push_back(r.rate);
	double base_median = summarize(base_rates).median;
	std::vector<double> base_together;
	for (const auto &r : together[0])
		base_together.push_back(r.rate);
	for (size_t i = 0; i < cfg.cases.size(); i++) {
		std::vector<double> rates, paired, client_cpu, server_cpu, busy, p50, p99;
		json rounds = json::array();
		uint64_t errors = 0;
		for (size_t r = 0; r < results[i].size(); r++) {
			const auto &x = results[i][r];
			rates.push_back(x.rate);
			if (base_rates[r] > 0)
				paired.push_back(x.rate / base_rates[r]);
			client_cpu.push_back(x.client_cpu_us);
			server_cpu.push_back(x.server_cpu_us);
			busy.push_back(x.system_busy_us);
			p50.push_back(x.p50_us);
			p99.push_back(x.p99_us);
			errors += x.errors;
			rounds.push_back({{"rate", x.rate}, {"connections", x.conns}, {"errors", x.errors},
					  {"seconds", x.seconds}, {"client_cpu_us_per_conn", x.client_cpu_us},
					  {"server_cpu_us_per_conn", x.server_cpu_us},
					  {"system_busy_us_per_conn", x.system_busy_us}, {"p50_us", x.p50_us},
					  {"p99_us", x.p99_us}});
		}
		auto s = summarize(rates);
		auto pr = summarize(paired);
		json c = {{"name", cfg.cases[i].name},
			  {"cgroup", cfg.cases[i].cgroup},
			  {"rate", s.to_json()},
			  {"ratio", base_median > 0 ? s.median / base_median : 0.0},
			  {"paired_ratio", pr.to_json()},
			  {"client_cpu_us_per_conn", summarize(client_cpu).median},
			  {"server_cpu_us_per_conn", summarize(server_cpu).median},
			  {"system_busy_us_per_conn", summarize(busy).median},
			  {"p50_us", summarize(p50).median},
			  {"p99_us", summarize(p99).median},
			  {"errors", errors},
			  {"rounds", rounds}};
		if (cfg.bpf_stats)
			c["bpf"] = bpf_by_case[i];
		if (cfg.concurrent_rounds > 0) {
			std::vector<double> t_rates, t_paired, t_cpu, t_cpu_ratio;
			for (size_t r = 0; r < together[i].size(); r++) {
				t_rates.push_back(together[i][r].rate);
				t_cpu.push_back(together[i][r].client_cpu_us);
				if (base_together[r] > 0)
					t_paired.push_back(together[i][r].rate / base_together[r]);
				if (together[i][r].client_cpu_us > 0)
					t_cpu_ratio.push_back(together[0][r].client_cpu_us / together[i][r].client_cpu_us);
			}
			auto tp = summarize(t_paired), tc = summarize(t_cpu_ratio);
			// cpu_ratio: client CPU per connection of the baseline / of this case, measured
			// at the same moments: the rate ratio of a client whose CPU is the limit.
			c["concurrent"] = {{"rate", summarize(t_rates).to_json()},
					   {"ratio", tp.to_json()},
					   {"client_cpu_us_per_conn", summarize(t_cpu).to_json()},
					   {"cpu_ratio", tc.to_json()},
					   {"rates", t_rates}};
			fprintf(stderr, "%-12s together: median %9.0f conn/s, ratio %.3f [q1 %.3f, q3 %.3f]; client cpu "
					"%.1f us/conn, cpu ratio %.3f [q1 %.3f, q3 %.3f]\n",
				cfg.cases[i].name.c_str(), summarize(t_rates).median, tp.median, tp.q1, tp.q3,
				summarize(t_cpu).median, tc.median, tc.q1, tc.q3);
		}
		cases.push_back(c);
		fprintf(stderr, "%-12s median %9.0f conn/s  [min %9.0f  max %9.0f]  ratio %.3f (paired %.3f)  "
				"client cpu %.1f us/conn\n",
			cfg.cases[i].name.c_str(), s.median, s.min, s.max, base_median > 0 ? s.median / base_median : 0.0,
			pr.median, summarize(client_cpu).median);
	}
	out["cases"] = cases;
	if (cfg.json_path == "-") {
		std::cout << out.dump(2) << '\n';
	} else {
		std::ofstream file(cfg.json_path);
		file << out.dump(2) << '\n';
		if (!file)
			die("cannot write " + cfg.json_path);
	}
	return 0;
}
