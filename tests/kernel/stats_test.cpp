// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The stats plugin against the kernel's own counters: a controlled workload over a
// veth pair with loss injected by nftables, compared with /proc/net/snmp and
// /proc/net/netstat deltas of each end's namespace, and live connections compared
// with what `ss -ti` says about the same sockets.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <tcpxi/stats.hpp>

#include "kernel_test.hpp"
#include "tcp_probe.hpp"

namespace tcpxi::test {
namespace {

class StatsTest : public KernelTest {};

// "Tcp: ActiveOpens ..." / "TcpExt: ..." header and value lines -> {"TcpActiveOpens": n}.
std::map<std::string, int64_t> parse_snmp(const std::string &text)
{
	std::map<std::string, int64_t> out;
	std::istringstream in(text);
	std::string header, values;
	while (std::getline(in, header) && std::getline(in, values)) {
		std::istringstream h(header), v(values);
		std::string prefix, vprefix, name, value;
		h >> prefix;
		v >> vprefix;
		prefix.pop_back(); // ':'
		while (h >> name && v >> value)
			try {
				out[prefix + name] = std::stoll(value);
			} catch (...) {
			}
	}
	return out;
}

std::map<std::string, int64_t> kernel_counters(const std::string &netns = "")
{
	std::string prefix = netns.empty() ? "" : "ip netns exec " + netns + " ";
	return parse_snmp(run(prefix + "cat /proc/net/snmp /proc/net/netstat"));
}

int64_t delta(const std::map<std::string, int64_t> &after, const std::map<std::string, int64_t> &before,
	      const std::string &name)
{
	auto a = after.find(name), b = before.find(name);
	return (a == after.end() ? 0 : a->second) - (b == before.end() ? 0 : b->second);
}

// Drops a share of the TCP segments (not SYNs) arriving on an interface of another
// namespace, with nftables: the sender sees loss on the wire, not a local error.
class ScopedLoss {
public:
	ScopedLoss(const std::string &netns, const std::string &ifname, int percent)
		: netns_(netns), table_(unique_name("tcpxiloss", 15))
	{
		nft("add table inet " + table_);
		nft("add chain inet " + table_ + " in '{ type filter hook prerouting priority 0; }'");
		nft("add rule inet " + table_ + " in iifname " + ifname + " tcp flags '&' syn == 0 numgen random mod 100 '<' " +
		    std::to_string(percent) + " drop");
	}
	~ScopedLoss()
	{
		try {
			nft("delete table inet " + table_);
		} catch (const std::exception &e) {
			fprintf(stderr, "warning: %s\n", e.what());
		}
	}

private:
	void nft(const std::string &args) { run("ip netns exec " + netns_ + " nft " + args); }
	std::string netns_, table_;
};

const CgroupStats *find(const StatsSnapshot &s, uint64_t id)
{
	for (const auto &cs : s.cgroups)
		if (cs.cgroup_id == id)
			return &cs;
	return nullptr;
}

void wait_for(const std::function<bool()> &done, int ms = 5000)
{
	for (int i = 0; i < ms / 20 && !done(); i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// Accepts `conns` connections at once, reads each to EOF, reports the total.
void serve_many(int out, const std::string &addr, int conns)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_in sin {};
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, addr.c_str(), &sin.sin_addr);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, reinterpret_cast<sockaddr *>(&sin), sizeof(sin)) || listen(fd, 128))
		throw std::runtime_error("cannot listen");
	socklen_t len = sizeof(sin);
	getsockname(fd, reinterpret_cast<sockaddr *>(&sin), &len);
	write_line(out, "port=" + std::to_string(ntohs(sin.sin_port)));
	std::atomic<uint64_t> total{0};
	std::vector<std::thread> threads;
	for (int i = 0; i < conns; i++) {
		int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
		if (c < 0)
			throw std::runtime_error("accept");
		threads.emplace_back([c, &total] {
			std::vector<char> buf(1 << 16);
			ssize_t n;
			while ((n = read(c, buf.data(), buf.size())) > 0)
				total += n;
			close(c);
		});
	}
	for (auto &t : threads)
		t.join();
	write_line(out, "received=" + std::to_string(total.load()));
}

// Opens `conns` connections at once, sends `bytes` on each, waits until the peer has
// acknowledged everything, reports the sockets' own retransmission count, closes.
void send_many(int out, const std::string &addr, uint16_t port, int conns, size_t bytes)
{
	std::atomic<uint64_t> retrans{0};
	std::atomic<int> failures{0};
	std::vector<std::thread> threads;
	for (int i = 0; i < conns; i++)
		threads.emplace_back([&] {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			sockaddr_in sin {};
			sin.sin_family = AF_INET;
			sin.sin_port = htons(port);
			inet_pton(AF_INET, addr.c_str(), &sin.sin_addr);
			if (connect(fd, reinterpret_cast<sockaddr *>(&sin), sizeof(sin))) {
				failures++;
				close(fd);
				return;
			}
			std::vector<char> chunk(1 << 16, 'x');
			size_t left = bytes;
			while (left) {
				ssize_t n = write(fd, chunk.data(), std::min(left, chunk.size()));
				if (n <= 0) {
					failures++;
					break;
				}
				left -= n;
			}
			tcp_info info {};
			for (int j = 0; j < 1000; j++) {
				socklen_t len = sizeof(info);
				getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len);
				int queued = 0; // sent but unacknowledged, plus unsent
				ioctl(fd, SIOCOUTQ, &queued);
				if (!queued)
					break;
				std::this_thread::sleep_for(std::chrono::milliseconds(10));
			}
			retrans += info.tcpi_total_retrans;
			close(fd);
		});
	for (auto &t : threads)
		t.join();
	write_line(out, "retrans=" + std::to_string(retrans.load()) + " failures=" + std::to_string(failures.load()));
}

TEST_F(StatsTest, WorkloadWithLossAgreesWithKernelCounters)
{
	const int conns = 24;
	const size_t bytes = 256 * 1024;
	ScopedCgroup clients, servers, idle;
	ScopedInstance inst;
	ScopedVethPeer peer;
	for (auto *cg : {&clients, &servers, &idle})
		inst.tcpxi().attach(cg->relative(), "stats", {});

	auto here_before = kernel_counters();
	auto there_before = kernel_counters(peer.netns());
	Child server(Place{servers.path(), peer.netns()},
		     [&](int out) { serve_many(out, peer.peer_addr(false), conns); });
	auto port_line = parse_fields(server.read_line());
	ASSERT_EQ(port_line.count("error"), 0u) << port_line["error"];
	const uint16_t port = static_cast<uint16_t>(std::stoi(port_line["port"]));
	std::map<std::string, std::string> client_report;
	{
		ScopedLoss loss(peer.netns(), peer.peer_if(), 5); // client -> server
		Child client(Place{clients.path()},
			     [&](int out) { send_many(out, peer.peer_addr(false), port, conns, bytes); });
		client_report = parse_fields(client.read_line(30000));
		client.wait();
	}
	ASSERT_EQ(client_report.count("error"), 0u) << client_report["error"];
	ASSERT_EQ(client_report["failures"], "0");
	auto server_report = parse_fields(server.read_line(30000));
	ASSERT_EQ(server_report["received"], std::to_string(conns * bytes));
	server.wait();

	// Both ends reach CLOSED (the client's FIN-WAIT-2 hands over to a time-wait socket).
	StatsSnapshot s;
	wait_for([&] {
		s = read_stats(inst.tcpxi());
		const CgroupStats *c = find(s, clients.id()), *v = find(s, servers.id());
		return c && v && c->tcp_counter("closed") == conns && v->tcp_counter("closed") == conns;
	});
	auto here_after = kernel_counters();
	auto there_after = kernel_counters(peer.netns());
	const CgroupStats *c = find(s, clients.id());
	const CgroupStats *v = find(s, servers.id());
	const CgroupStats *i = find(s, idle.id());
	ASSERT_TRUE(c && v && i);

	// Opens: exactly what each namespace's Tcp counters say (only our traffic there).
	EXPECT_EQ(c->tcp_counter("active_opens"), conns);
	EXPECT_EQ(int64_t(c->tcp_counter("active_opens")), delta(here_after, here_before, "TcpActiveOpens"));
	EXPECT_EQ(v->tcp_counter("passive_opens"), conns);
	EXPECT_EQ(int64_t(v->tcp_counter("passive_opens")), delta(there_after, there_before, "TcpPassiveOpens"));
	EXPECT_EQ(c->tcp_counter("passive_opens"), 0u);
	EXPECT_EQ(v->tcp_counter("active_opens"), 0u);
	EXPECT_EQ(c->tcp_counter("failed_opens"), 0u);
	EXPECT_EQ(c->tcp_counter("established"), conns);
	EXPECT_EQ(v->tcp_counter("established"), conns);
	EXPECT_EQ(c->tcp_counter("closed"), conns);
	EXPECT_EQ(v->tcp_counter("closed"), conns);
	EXPECT_EQ(c->established_now, 0u);
	EXPECT_EQ(c->connections_now, 0u);
	EXPECT_EQ(v->connections_now, 0u);

	// Bytes: exactly RFC 4898's octets, as tcpi_bytes_acked/received count them (the
	// SYN and the FIN take one sequence number each).
	EXPECT_EQ(c->tcp_counter("bytes_acked"), conns * (bytes + 2));
	EXPECT_EQ(v->tcp_counter("bytes_received"), conns * (bytes + 1));
	EXPECT_GE(c->tcp_counter("data_segs_out"), conns * (bytes / 65536));

	// Retransmissions: the sockets' own count (what ss -ti shows as retrans:/N) and the
	// namespace's RetransSegs; the FIN may be retransmitted after the socket reported.
	const int64_t retrans = c->tcp_counter("retrans_segs");
	const int64_t sockets = std::stoll(client_report["retrans"]);
	const int64_t netns = delta(here_after, here_before, "TcpRetransSegs");
	EXPECT_GT(retrans, 0) << "5% loss must cause retransmissions";
	EXPECT_GE(retrans, sockets);
	EXPECT_LE(retrans, sockets + conns);
	EXPECT_EQ(retrans, netns);
	// Segments: tcpOutSegs leaves retransmissions out, segs_out does not; and the
	// namespace also counts what time-wait sockets send and receive (an ACK or a
	// FIN each), which no connection owns any more.
	EXPECT_NEAR(double(c->tcp_counter("segs_out") - retrans), double(delta(here_after, here_before, "TcpOutSegs")),
		    2.0 * conns);
	EXPECT_NEAR(double(c->tcp_counter("segs_in")), double(delta(here_after, here_before, "TcpInSegs")), 2.0 * conns);
	// RTO expirations: TcpExt's TCPTimeouts counts every expiry of the retransmission
	// timer that retransmits, as the plugin does.
	const int64_t timeouts = delta(here_after, here_before, "TcpExtTCPTimeouts");
	fprintf(stderr, "rto_expirations=%llu TCPTimeouts=%lld retrans=%lld\n",
		(unsigned long long)c->tcp_counter("rto_expirations"), (long long)timeouts, (long long)retrans);
	EXPECT_NEAR(double(c->tcp_counter("rto_expirations")), double(timeouts), 2.0);

	// The RTT histogram holds every sample.
	uint64_t in_buckets = 0;
	for (auto n : c->rtt.counts)
		in_buckets += n;
	EXPECT_GT(c->rtt.samples, 0u);
	EXPECT_EQ(in_buckets, c->rtt.samples);

	// The cgroup without traffic stays at zero.
	for (const auto &counter : i->tcp_counters)
		EXPECT_EQ(counter.value, 0u) << counter.name;
	for (auto n : i->rtt.counts)
		EXPECT_EQ(n, 0u);
}

// "bytes_acked:N" and the like from one `ss -tin` socket block.
std::map<std::string, std::string> ss_fields(const std::string &ss, uint16_t local_port)
{
	std::istringstream in(ss);
	std::string line;
	bool found = false;
	std::map<std::string, std::string> fields;
	while (std::getline(in, line)) {
		if (!found) {
			found = line.find(":" + std::to_string(local_port) + " ") != std::string::npos &&
				line.rfind("ESTAB", 0) == 0;
			continue;
		}
		std::istringstream words(line);
		std::string w;
		while (words >> w) {
			auto colon = w.find(':');
			if (colon != std::string::npos)
				fields[w.substr(0, colon)] = w.substr(colon + 1);
			else
				fields[w] = "";
		}
		return fields;
	}
	return fields;
}

TEST_F(StatsTest, LiveConnectionsMatchSs)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "stats", {});
	std::vector<OpenConnection> open;
	for (int k = 0; k < 3; k++)
		open.push_back(open_connection(Place{}, Place{cg.path()}, k == 2 ? "::1" : "127.0.0.1", k == 2));
	for (auto &o : open)
		ASSERT_EQ(o.client_facts.count("error"), 0u) << o.client_facts["error"];

	// Each client has queued 1 MiB that the server does not read: let the windows
	// fill, so that both reads below see the same numbers.
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	StatsQuery query;
	query.connections = true;
	StatsSnapshot s = read_stats(inst.tcpxi(), query);
	const std::string ss = run("ss -tin");
	// The client ends are in the cgroup, the servers' are not.
	ASSERT_EQ(s.connections.size(), 3u);
	const CgroupStats *c = find(s, cg.id());
	ASSERT_TRUE(c);
	EXPECT_EQ(c->established_now, 3u);
	EXPECT_EQ(c->connections_now, 3u);
	int v6 = 0;
	for (const auto &conn : s.connections) {
		SCOPED_TRACE(conn.local + ":" + std::to_string(conn.local_port));
		EXPECT_TRUE(conn.live);
		EXPECT_TRUE(conn.active);
		EXPECT_EQ(conn.cgroup, cg.relative());
		EXPECT_EQ(conn.state, "ESTABLISHED");
		v6 += conn.v6;
		auto f = ss_fields(ss, conn.local_port);
		ASSERT_FALSE(f.empty()) << ss;
		EXPECT_EQ(std::to_string(conn.bytes_acked), f["bytes_acked"]);
		EXPECT_EQ(std::to_string(conn.snd_cwnd), f["cwnd"]);
		EXPECT_EQ(std::to_string(conn.mss), f["mss"]);
		// Zero-window probes may go out between the two reads.
		EXPECT_NEAR(conn.segs_out, std::stod(f["segs_out"]), 2);
		EXPECT_NEAR(conn.segs_in, std::stod(f["segs_in"]), 2);
		EXPECT_GT(conn.srtt_us, 0u);
	}
	EXPECT_EQ(v6, 1);

	// Without sock_diag: the plugin's own snapshot of the same connections.
	query.live = false;
	StatsSnapshot snap = read_stats(inst.tcpxi(), query);
	ASSERT_EQ(snap.connections.size(), 3u);
	for (const auto &conn : snap.connections) {
		EXPECT_FALSE(conn.live);
		EXPECT_EQ(conn.state, "ESTABLISHED");
		EXPECT_GE(conn.bytes_acked, 1u) << "at least the SYN";
		EXPECT_GE(conn.snd_cwnd, 1u);
		EXPECT_LE(conn.snapshot_age_s, 2.0);
	}

	open.clear(); // closes them
	wait_for([&] { return read_stats(inst.tcpxi(), query).connections.empty(); });
	s = read_stats(inst.tcpxi(), query);
	EXPECT_TRUE(s.connections.empty());
	c = find(s, cg.id());
	ASSERT_TRUE(c);
	EXPECT_EQ(c->established_now, 0u);
	EXPECT_EQ(c->tcp_counter("closed"), 3u);
	EXPECT_EQ(c->tcp_counter("estab_left"), 3u);
}

TEST_F(StatsTest, FailedOpenIsCounted)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "stats", {});
	// Nothing listens on the port: the SYN is answered by a reset.
	Child client(Place{cg.path()}, [](int out) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in sin {};
		sin.sin_family = AF_INET;
		sin.sin_port = htons(9);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int rc = connect(fd, reinterpret_cast<sockaddr *>(&sin), sizeof(sin));
		write_line(out, "rc=" + std::to_string(rc) + " errno=" + std::to_string(errno));
	});
	auto r = parse_fields(client.read_line());
	EXPECT_EQ(r["errno"], std::to_string(ECONNREFUSED));
	auto s = read_stats(inst.tcpxi());
	const CgroupStats *c = find(s, cg.id());
	ASSERT_TRUE(c);
	EXPECT_EQ(c->tcp_counter("active_opens"), 1u);
	EXPECT_EQ(c->tcp_counter("failed_opens"), 1u);
	EXPECT_EQ(c->tcp_counter("established"), 0u);
}

} // namespace
} // namespace tcpxi::test
