// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Real TCP connections and what the kernel says about them.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel_env.hpp"

namespace tcpxi::test {

// An IPv4 or IPv6 socket address for `addr` and `port`; `len` gets its length.
sockaddr_storage make_addr(const std::string &addr, bool v6, uint16_t port, socklen_t &len);

// Throws with strerror(errno) and `what` unless `ok`.
void check(bool ok, const std::string &what);

// "cc=... snd_cwnd=... rto=... ato=... nodelay=... keepalive=... keepidle=...
//  keepintvl=... keepcnt=... user_timeout=... max_pacing_rate=... notsent_lowat=...
//  tos=... tclass=..." as the kernel reports them (getsockopt, TCP_INFO).
std::string socket_facts(int fd);

// Result of one connection: what each end's socket looked like.
struct Connection {
	std::map<std::string, std::string> client;
	std::map<std::string, std::string> server;
};

// Starts a listener in `server_place`, connects from `client_place`, reports both
// ends. `send_bytes` are sent client -> server before the report (0: none).
Connection connect_once(const Place &server_place, const Place &client_place, const std::string &server_addr,
			bool v6, size_t send_bytes = 0);

// Sends `messages` small messages client -> server, 20 ms apart, the way an
// interactive protocol does; reports both ends (the receiver's ato is meaningful).
Connection exchange_small_messages(const Place &server_place, const Place &client_place,
				   const std::string &server_addr, bool v6, int messages);

// A connection that stays open until the returned children are destroyed; the client
// reports its facts once connected, then sleeps.
struct OpenConnection {
	std::unique_ptr<Child> server;
	std::unique_ptr<Child> client;
	std::map<std::string, std::string> client_facts;
};
OpenConnection open_connection(const Place &server_place, const Place &client_place,
			       const std::string &server_addr, bool v6);

// tcpi_rto of a socket stuck in SYN-SENT (its first SYN timeout), connecting from
// `place` to an address that never answers.
std::map<std::string, std::string> syn_sent_facts(const Place &place, const std::string &dead_addr, bool v6);

// A TCP segment seen on an interface.
struct Segment {
	bool v6 = false;
	uint8_t dscp = 0;
	uint8_t ecn = 0;
	uint8_t flags = 0; // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80
	uint16_t window = 0;
	uint16_t src_port = 0;
	uint16_t dst_port = 0;
};

// Captures TCP segments on an interface of the calling process's netns
// (AF_PACKET, both directions) from construction until segments() is called.
class Capture {
public:
	explicit Capture(const std::string &ifname);
	~Capture();
	Capture(const Capture &) = delete;
	Capture &operator=(const Capture &) = delete;
	std::vector<Segment> segments(int settle_ms = 200);

private:
	int fd_ = -1;
};

} // namespace tcpxi::test
