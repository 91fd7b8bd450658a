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
#include <sys/ioctl.h>
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

#include <nlohmann/json.hpp>

#include "stats.hpp"

namespace {

using json = nlohmann::json;
using tcpxi::bench::summarize;

struct Config {
	double seconds = 3.0;
	double warmup = 0.5;
	int rounds = 5;
	int clients = 1;
	size_t size = 64;
	bool netns = true;
	std::string cc; // default congestion control of the private namespace
	long tw_buckets = -1; // tcp_max_tw_buckets of the private namespace
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
	uint64_t conns = 0;
	uint64_t errors = 0;
	uint64_t elapsed_ns = 0;
	uint64_t cpu_ns = 0; // user + system time of the client process
	int first_errno = 0;
	uint32_t hist[kBuckets] = {};
};

// Runs in the forked child: async-signal-safe calls only (the parent has threads).
void client_main(const char *procs_path, uint16_t port, size_t size, uint64_t seconds_ns, int start_fd,
		 int result_fd)
{
	static ClientResult r;
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

// Busy and total jiffies of all CPUs, from /proc/stat.
std::pair<uint64_t, uint64_t> cpu_jiffies()
{
	std::ifstream stat("/proc/stat");
	std::string cpu;
	uint64_t v[10] = {};
	stat >> cpu;
	for (auto &x : v)
		stat >> x;
	uint64_t idle = v[3] + v[4];
	uint64_t total = 0;
	for (int i = 0; i < 8; i++) // guest time is already in user
		total += v[i];
	return {total - idle, total};
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

RoundResult run_round(const Config &cfg, const Config::Case &c, const Server &server, double seconds)
{
	std::string procs = c.cgroup.empty() ? std::string() : c.cgroup + "/cgroup.procs";
	int start_pipe[2], result_pipe[2];
	if (pipe2(start_pipe, O_CLOEXEC) || pipe2(result_pipe, O_CLOEXEC))
		die_errno("pipe");
	std::vector<pid_t> pids;
	for (int i = 0; i < cfg.clients; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die_errno("fork");
		if (pid == 0) {
			close(start_pipe[1]);
			close(result_pipe[0]);
			client_main(procs.c_str(), server.port(), cfg.size, uint64_t(seconds * 1e9), start_pipe[0],
				    result_pipe[1]);
		}
		pids.push_back(pid);
	}
	close(start_pipe[0]);
	close(result_pipe[1]);
	usleep(20000); // let the clients join their cgroup
	auto [busy0, total0] = cpu_jiffies();
	uint64_t server_cpu0 = server.cpu_ns();
	std::string go(cfg.clients, 'g');
	if (write(start_pipe[1], go.data(), go.size()) != static_cast<ssize_t>(go.size()))
		die_errno("start clients");
	close(start_pipe[1]);

	RoundResult out;
	std::vector<uint64_t> hist(kBuckets, 0);
	uint64_t elapsed = 0, client_cpu = 0;
	for (int i = 0; i < cfg.clients; i++) {
		ClientResult r;
		char *p = reinterpret_cast<char *>(&r);
		size_t left = sizeof(r);
		while (left) {
			ssize_t n = read(result_pipe[0], p, left);
			if (n <= 0)
				die("a client process died without a result");
			p += n;
			left -= n;
		}
		if (r.errors == UINT64_MAX)
			die("cannot move a client into " + procs + ": " + strerror(r.first_errno));
		out.conns += r.conns;
		out.errors += r.errors;
		if (!out.first_errno)
			out.first_errno = r.first_errno;
		elapsed = std::max(elapsed, r.elapsed_ns);
		client_cpu += r.cpu_ns;
		for (int b = 0; b < kBuckets; b++)
			hist[b] += r.hist[b];
	}
	uint64_t server_cpu1 = server.cpu_ns();
	auto [busy1, total1] = cpu_jiffies();
	close(result_pipe[0]);
	for (pid_t pid : pids)
		waitpid(pid, nullptr, 0);

	out.seconds = elapsed / 1e9;
	out.rate = out.seconds > 0 ? out.conns / out.seconds : 0;
	if (out.conns) {
		out.client_cpu_us = client_cpu / 1e3 / out.conns;
		out.server_cpu_us = (server_cpu1 - server_cpu0) / 1e3 / out.conns;
		long hz = sysconf(_SC_CLK_TCK);
		out.system_busy_us = double(busy1 - busy0) / hz * 1e6 / out.conns;
		(void)total1;
		(void)total0;
		uint64_t seen = 0;
		for (int b = 0; b < kBuckets; b++) {
			seen += hist[b];
			if (!out.p50_us && seen * 2 >= out.conns)
				out.p50_us = bucket_value(b) / 1e3;
			if (!out.p99_us && seen * 100 >= out.conns * 99)
				out.p99_us = bucket_value(b) / 1e3;
		}
	}
	return out;
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
	if (cfg.cases.empty() || cfg.rounds < 1 || cfg.seconds <= 0 || cfg.clients < 1 || cfg.clients > 64 ||
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
		for (const auto &c : cfg.cases)
			run_round(cfg, c, server, cfg.warmup);

	std::vector<std::vector<RoundResult>> results(cfg.cases.size());
	for (int round = 0; round < cfg.rounds; round++) {
		for (size_t k = 0; k < cfg.cases.size(); k++) {
			size_t i = round % 2 == 0 ? k : cfg.cases.size() - 1 - k;
			RoundResult r = run_round(cfg, cfg.cases[i], server, cfg.seconds);
			fprintf(stderr, "  round %d  %-12s %9.0f conn/s  p50 %6.1f us  p99 %7.1f us  errors %lu%s%s\n",
				round + 1, cfg.cases[i].name.c_str(), r.rate, r.p50_us, r.p99_us,
				(unsigned long)r.errors, r.first_errno ? "  first error: " : "",
				r.first_errno ? strerror(r.first_errno) : "");
			results[i].push_back(r);
		}
	}

	json out;
	out["tool"] = "tcpxi-bench-connrate";
	out["seconds"] = cfg.seconds;
	out["rounds"] = cfg.rounds;
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
