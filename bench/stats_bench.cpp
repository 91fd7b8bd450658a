// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// What the stats plugin costs and how fast its statistics are read:
//   connection rate and bulk throughput over loopback from a cgroup with and without
//   stats attached, interleaved runs side by side; then the time to read the
//   statistics of N live connections (tcpxi stats -c, library call).
// Root; runs in a network namespace and a cgroup of its own, under instance
// "tcpxibst", and removes them. Prints JSON.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <tcpxi/stats.hpp>

#include "stats.hpp"

using namespace tcpxi;
using clock_type = std::chrono::steady_clock;

namespace {

void join_cgroup(const std::string &path)
{
	std::ofstream(path + "/cgroup.procs") << getpid();
}

int listener(uint16_t &port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sockaddr_in sin {};
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, reinterpret_cast<sockaddr *>(&sin), sizeof(sin));
	listen(fd, 4096);
	socklen_t len = sizeof(sin);
	getsockname(fd, reinterpret_cast<sockaddr *>(&sin), &len);
	port = ntohs(sin.sin_port);
	return fd;
}

int connect_to(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_in sin {};
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, reinterpret_cast<sockaddr *>(&sin), sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

// Runs `body` in a child that joined `cgroup`; returns what it wrote to the pipe.
double in_child(const std::string &cgroup, const std::function<double()> &body)
{
	int fds[2];
	if (pipe(fds))
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		join_cgroup(cgroup);
		double v = body();
		(void)!write(fds[1], &v, sizeof(v));
		_exit(0);
	}
	close(fds[1]);
	double v = 0;
	(void)!read(fds[0], &v, sizeof(v));
	close(fds[0]);
	waitpid(pid, nullptr, 0);
	return v;
}

// Connections per second: connect, send 100 bytes, the server reads and closes.
double connection_rate(double seconds)
{
	uint16_t port;
	int lfd = listener(port);
	std::atomic<bool> stop{false};
	std::thread server([&] {
		char buf[256];
		while (!stop) {
			int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			(void)!read(c, buf, sizeof(buf));
			close(c);
		}
	});
	auto end = clock_type::now() + std::chrono::duration<double>(seconds);
	uint64_t n = 0;
	auto start = clock_type::now();
	char msg[100] = {};
	while (clock_type::now() < end) {
		int fd = connect_to(port);
		if (fd < 0)
			continue;
		linger lg{1, 0}; // RST on close: no TIME-WAIT pile-up over many runs
		(void)!write(fd, msg, sizeof(msg));
		char b;
		(void)!read(fd, &b, 1);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		n++;
	}
	double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
	stop = true;
	int wake = connect_to(port);
	if (wake >= 0)
		close(wake);
	server.join();
	close(lfd);
	return n / elapsed;
}

// Bulk throughput, bytes per second, one connection.
double throughput(double seconds)
{
	uint16_t port;
	int lfd = listener(port);
	std::thread server([&] {
		int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
		std::vector<char> buf(1 << 18);
		while (read(c, buf.data(), buf.size()) > 0) {
		}
		close(c);
	});
	int fd = connect_to(port);
	std::vector<char> chunk(1 << 18, 'x');
	uint64_t bytes = 0;
	auto start = clock_type::now();
	auto end = start + std::chrono::duration<double>(seconds);
	while (clock_type::now() < end) {
		ssize_t n = write(fd, chunk.data(), chunk.size());
		if (n <= 0)
			break;
		bytes += n;
	}
	double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
	close(fd);
	server.join();
	close(lfd);
	return bytes / elapsed;
}

} // namespace

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	double seconds = argc > 2 ? atof(argv[2]) : 1.0;
	int live = argc > 3 ? atoi(argv[3]) : 10000;
	if (unshare(CLONE_NEWNET) || system("ip link set lo up")) {
		perror("unshare");
		return 1;
	}
	std::string mount = cgroup2_mount();
	std::string with = mount + "/tcpxi-bench-stats", without = mount + "/tcpxi-bench-plain";
	mkdir(with.c_str(), 0755);
	mkdir(without.c_str(), 0755);
	Options options;
	options.instance = "tcpxibst";
	Tcpxi tcpxi(options);
	nlohmann::json out;
	try {
		tcpxi.attach("/tcpxi-bench-stats", "stats", {});
		std::vector<double> rate_with, rate_without, tput_with, tput_without;
		for (int r = 0; r < rounds; r++) { // interleaved: drift hits both sides alike
			rate_without.push_back(in_child(without, [&] { return connection_rate(seconds); }));
			rate_with.push_back(in_child(with, [&] { return connection_rate(seconds); }));
			tput_without.push_back(in_child(without, [&] { return throughput(seconds); }));
			tput_with.push_back(in_child(with, [&] { return throughput(seconds); }));
		}
		auto rw = bench::summarize(rate_with), ro = bench::summarize(rate_without);
		auto tw = bench::summarize(tput_with), to = bench::summarize(tput_without);
		out["connection_rate_per_s"] = {{"with_stats", rw.to_json()}, {"without", ro.to_json()},
						{"ratio_of_medians", rw.median / ro.median}};
		out["throughput_bytes_per_s"] = {{"with_stats", tw.to_json()}, {"without", to.to_json()},
						 {"ratio_of_medians", tw.median / to.median}};

		// N live connections whose client ends are in the stats cgroup.
		rlimit rl{1 << 20, 1 << 20};
		setrlimit(RLIMIT_NOFILE, &rl);
		int ready[2], done[2];
		(void)!pipe(ready);
		(void)!pipe(done);
		pid_t holder = fork();
		if (holder == 0) {
			// The listener (and so the accepted ends) outside the cgroup, the
			// connecting ends inside: N tracked connections.
			uint16_t port;
			int lfd = listener(port);
			join_cgroup(with);
			std::vector<int> fds;
			for (int i = 0; i < live; i++) {
				int c = connect_to(port);
				int s = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
				fds.push_back(c);
				fds.push_back(s);
			}
			char x = 1;
			(void)!write(ready[1], &x, 1);
			(void)!read(done[0], &x, 1);
			_exit(0);
		}
		char x;
		(void)!read(ready[0], &x, 1);
		std::vector<double> read_ms;
		size_t seen = 0;
		StatsQuery q;
		q.connections = true;
		for (int i = 0; i < 11; i++) {
			auto t0 = clock_type::now();
			StatsSnapshot s = read_stats(tcpxi, q);
			read_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
			seen = s.connections.size();
		}
		q.live = false;
		std::vector<double> snap_ms;
		for (int i = 0; i < 11; i++) {
			auto t0 = clock_type::now();
			read_stats(tcpxi, q);
			snap_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
		}
		(void)!write(done[1], &x, 1);
		waitpid(holder, nullptr, 0);
		out["read_live_connections"] = {{"connections", seen},
						{"with_sock_diag_ms", bench::summarize(read_ms).to_json()},
						{"snapshot_only_ms", bench::summarize(snap_ms).to_json()}};
	} catch (const std::exception &e) {
		std::cerr << "error: " << e.what() << '\n';
	}
	try {
		tcpxi.detach("/tcpxi-bench-stats", "stats");
	} catch (...) {
	}
	for (int i = 0; i < 50 && (rmdir(with.c_str()) && errno == EBUSY); i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	rmdir(without.c_str());
	std::cout << out.dump(2) << '\n';
	return 0;
}
