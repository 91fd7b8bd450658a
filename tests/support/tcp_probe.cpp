// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "tcp_probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace tcpxi::test {

namespace {

int get_int(int fd, int level, int name)
{
	int value = -1;
	socklen_t len = sizeof(value);
	if (getsockopt(fd, level, name, &value, &len))
		return -1;
	return value;
}

// Listens on addr:0, reports "port=N", accepts one connection, reads `expect` bytes,
// reports the accepted socket's facts.
void serve_once(int out, const std::string &addr, bool v6, size_t expect, bool linger)
{
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	check(fd >= 0, "socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	socklen_t len;
	auto ss = make_addr(addr, v6, 0, len);
	check(!bind(fd, reinterpret_cast<sockaddr *>(&ss), len), "bind " + addr);
	check(!listen(fd, 16), "listen");
	check(!getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len), "getsockname");
	uint16_t port = ntohs(v6 ? reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port
				 : reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
	write_line(out, "port=" + std::to_string(port));
	int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
	check(conn >= 0, "accept");
	std::vector<char> buf(65536);
	size_t got = 0;
	while (got < expect) {
		ssize_t n = read(conn, buf.data(), buf.size());
		if (n <= 0)
			break;
		got += n;
	}
	write_line(out, socket_facts(conn) + " received=" + std::to_string(got));
	if (linger)
		pause();
	close(conn);
	close(fd);
}

int connect_to(const std::string &addr, bool v6, uint16_t port)
{
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	check(fd >= 0, "socket");
	socklen_t len;
	auto ss = make_addr(addr, v6, port, len);
	check(!connect(fd, reinterpret_cast<sockaddr *>(&ss), len), "connect " + addr);
	return fd;
}

void send_all(int fd, size_t bytes)
{
	std::vector<char> chunk(65536, 'x');
	while (bytes > 0) {
		ssize_t n = write(fd, chunk.data(), std::min(bytes, chunk.size()));
		check(n > 0, "write");
		bytes -= n;
	}
}

uint16_t port_of(Child &server)
{
	auto fields = parse_fields(server.read_line());
	if (fields.count("error"))
		throw std::runtime_error("server: " + fields["error"]);
	return static_cast<uint16_t>(std::stoi(fields.at("port")));
}

} // namespace

sockaddr_storage make_addr(const std::string &addr, bool v6, uint16_t port, socklen_t &len)
{
	sockaddr_storage ss {};
	if (v6) {
		auto *sin6 = reinterpret_cast<sockaddr_in6 *>(&ss);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr);
		len = sizeof(*sin6);
	} else {
		auto *sin = reinterpret_cast<sockaddr_in *>(&ss);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, addr.c_str(), &sin->sin_addr);
		len = sizeof(*sin);
	}
	return ss;
}

void check(bool ok, const std::string &what)
{
	if (!ok)
		throw std::runtime_error(what + ": " + strerror(errno));
}

std::string socket_facts(int fd)
{
	char cc[16] = {};
	socklen_t cc_len = sizeof(cc);
	getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &cc_len);
	tcp_info info {};
	socklen_t info_len = sizeof(info);
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &info_len);
	unsigned long pacing = 0;
	socklen_t pacing_len = sizeof(pacing);
	getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &pacing, &pacing_len);
	sockaddr_storage ss {};
	socklen_t ss_len = sizeof(ss);
	getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &ss_len);
	bool v6 = ss.ss_family == AF_INET6;

	std::string facts = "cc=" + std::string(cc);
	facts += " state=" + std::to_string(info.tcpi_state);
	facts += " snd_cwnd=" + std::to_string(info.tcpi_snd_cwnd);
	facts += " rto=" + std::to_string(info.tcpi_rto);
	facts += " ato=" + std::to_string(info.tcpi_ato);
	facts += " options=" + std::to_string(info.tcpi_options);
	facts += " nodelay=" + std::to_string(get_int(fd, IPPROTO_TCP, TCP_NODELAY));
	facts += " keepalive=" + std::to_string(get_int(fd, SOL_SOCKET, SO_KEEPALIVE));
	facts += " keepidle=" + std::to_string(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE));
	facts += " keepintvl=" + std::to_string(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL));
	facts += " keepcnt=" + std::to_string(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT));
	facts += " user_timeout=" + std::to_string(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT));
	facts += " max_pacing_rate=" + std::to_string(pacing_len == sizeof(pacing) ? pacing : (unsigned)pacing);
	facts += " notsent_lowat=" + std::to_string(get_int(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT));
	if (v6)
		facts += " tclass=" + std::to_string(get_int(fd, IPPROTO_IPV6, IPV6_TCLASS));
	else
		facts += " tos=" + std::to_string(get_int(fd, IPPROTO_IP, IP_TOS));
	return facts;
}

Connection connect_once(const Place &server_place, const Place &client_place, const std::string &server_addr,
			bool v6, size_t send_bytes)
{
	Child server(server_place, [&](int out) { serve_once(out, server_addr, v6, send_bytes, false); });
	uint16_t port = port_of(server);
	Child client(client_place, [&](int out) {
		int fd = connect_to(server_addr, v6, port);
		send_all(fd, send_bytes);
		write_line(out, socket_facts(fd));
		close(fd);
	});
	Connection conn;
	conn.client = parse_fields(client.read_line());
	conn.server = parse_fields(server.read_line());
	return conn;
}

Connection exchange_small_messages(const Place &server_place, const Place &client_place,
				   const std::string &server_addr, bool v6, int messages)
{
	const size_t message = 100;
	Child server(server_place, [&](int out) { serve_once(out, server_addr, v6, message * messages, false); });
	uint16_t port = port_of(server);
	Child client(client_place, [&](int out) {
		int fd = connect_to(server_addr, v6, port);
		for (int i = 0; i < messages; i++) {
			send_all(fd, message);
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
		}
		write_line(out, socket_facts(fd));
		close(fd);
	});
	Connection conn;
	conn.client = parse_fields(client.read_line());
	conn.server = parse_fields(server.read_line());
	return conn;
}

OpenConnection open_connection(const Place &server_place, const Place &client_place,
			       const std::string &server_addr, bool v6)
{
	OpenConnection conn;
	conn.server = std::make_unique<Child>(server_place,
					      [&](int out) { serve_once(out, server_addr, v6, 0, true); });
	uint16_t port = port_of(*conn.server);
	conn.client = std::make_unique<Child>(client_place, [&](int out) {
		int fd = connect_to(server_addr, v6, port);
		send_all(fd, 1 << 20);
		write_line(out, socket_facts(fd));
		pause();
	});
	conn.client_facts = parse_fields(conn.client->read_line());
	return conn;
}

std::map<std::string, std::string> syn_sent_facts(const Place &place, const std::string &dead_addr, bool v6)
{
	Child client(place, [&](int out) {
		int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		check(fd >= 0, "socket");
		socklen_t len;
		auto ss = make_addr(dead_addr, v6, 9, len);
		int rc = connect(fd, reinterpret_cast<sockaddr *>(&ss), len);
		check(rc == 0 || errno == EINPROGRESS, "connect");
		write_line(out, socket_facts(fd));
		close(fd);
	});
	return parse_fields(client.read_line());
}

Capture::Capture(const std::string &ifname)
{
	fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd_ < 0)
		throw std::runtime_error(std::string("AF_PACKET socket: ") + strerror(errno));
	sockaddr_ll sll {};
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(ifname.c_str());
	if (!sll.sll_ifindex || bind(fd_, reinterpret_cast<sockaddr *>(&sll), sizeof(sll)))
		throw std::runtime_error("cannot capture on " + ifname);
}

Capture::~Capture()
{
	if (fd_ >= 0)
		close(fd_);
}

std::vector<Segment> Capture::segments(int settle_ms)
{
	std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms));
	std::vector<Segment> segments;
	uint8_t frame[2048];
	for (;;) {
		ssize_t n = recv(fd_, frame, sizeof(frame), 0);
		if (n <= 0)
			break;
		if (n < 14)
			continue;
		uint16_t ethertype = (frame[12] << 8) | frame[13];
		const uint8_t *ip = frame + 14;
		size_t left = n - 14;
		Segment seg;
		const uint8_t *tcp = nullptr;
		if (ethertype == ETH_P_IP && left >= 20 && ip[9] == IPPROTO_TCP) {
			size_t ihl = (ip[0] & 0x0f) * 4;
			seg.dscp = ip[1] >> 2;
			seg.ecn = ip[1] & 3;
			if (left >= ihl + 20)
				tcp = ip + ihl;
		} else if (ethertype == ETH_P_IPV6 && left >= 60 && ip[6] == IPPROTO_TCP) {
			uint8_t tclass = ((ip[0] & 0x0f) << 4) | (ip[1] >> 4);
			seg.v6 = true;
			seg.dscp = tclass >> 2;
			seg.ecn = tclass & 3;
			tcp = ip + 40;
		}
		if (!tcp)
			continue;
		seg.src_port = (tcp[0] << 8) | tcp[1];
		seg.dst_port = (tcp[2] << 8) | tcp[3];
		seg.flags = tcp[13];
		seg.window = (tcp[14] << 8) | tcp[15];
		segments.push_back(seg);
	}
	return segments;
}

} // namespace tcpxi::test
