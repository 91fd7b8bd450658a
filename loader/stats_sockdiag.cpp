// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Live TCP values from the kernel's sock_diag (what `ss -ti` reads), by socket cookie.
#include "stats_internal.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <tcpxi/error.hpp>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace tcpxi {

namespace {

LiveTcp from_info(const tcp_info &i, size_t len)
{
	LiveTcp t;
	t.state = tcp_state_name(i.tcpi_state);
	t.srtt_us = i.tcpi_rtt;
	t.rttvar_us = i.tcpi_rttvar;
	t.rto_us = i.tcpi_rto;
	t.snd_cwnd = i.tcpi_snd_cwnd;
	t.snd_ssthresh = i.tcpi_snd_ssthresh;
	t.mss = i.tcpi_snd_mss;
	t.total_retrans = i.tcpi_total_retrans;
	auto has = [len](size_t end) { return len >= end; };
	if (has(offsetof(tcp_info, tcpi_bytes_received) + sizeof(i.tcpi_bytes_received))) {
		t.pacing_rate = i.tcpi_pacing_rate == ~0ULL ? 0 : i.tcpi_pacing_rate;
		t.bytes_acked = i.tcpi_bytes_acked;
		t.bytes_received = i.tcpi_bytes_received;
	}
	if (has(offsetof(tcp_info, tcpi_min_rtt) + sizeof(i.tcpi_min_rtt))) {
		t.segs_in = i.tcpi_segs_in;
		t.segs_out = i.tcpi_segs_out;
		t.min_rtt_us = i.tcpi_min_rtt == ~0u ? 0 : i.tcpi_min_rtt;
	}
	if (has(offsetof(tcp_info, tcpi_delivery_rate) + sizeof(i.tcpi_delivery_rate)))
		t.delivery_rate = i.tcpi_delivery_rate;
	if (has(offsetof(tcp_info, tcpi_delivered_ce) + sizeof(i.tcpi_delivered_ce))) {
		t.delivered = i.tcpi_delivered;
		t.delivered_ce = i.tcpi_delivered_ce;
	}
	return t;
}

void dump(int family, std::unordered_map<uint64_t, LiveTcp> &out)
{
	UniqueFd fd(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
	if (!fd)
		throw_errno(errno, "cannot open a sock_diag socket");
	struct {
		nlmsghdr nlh;
		inet_diag_req_v2 req;
	} msg {};
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	// Every state a tracked connection can be in (not LISTEN, TIME-WAIT, NEW-SYN-RECV).
	msg.req.idiag_states = ~((1u << 10) | (1u << 6) | (1u << 12) | (1u << 0)) & 0x1fff;
	msg.req.idiag_ext = 1 << (INET_DIAG_INFO - 1);
	if (send(fd.get(), &msg, sizeof(msg), 0) < 0)
		throw_errno(errno, "cannot ask sock_diag for TCP sockets");
	std::vector<char> buf(1 << 16);
	for (;;) {
		ssize_t n = recv(fd.get(), buf.data(), buf.size(), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw_errno(errno, "cannot read sock_diag");
		}
		for (auto *h = reinterpret_cast<nlmsghdr *>(buf.data()); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return;
			if (h->nlmsg_type == NLMSG_ERROR)
				throw Error(ErrorKind::kernel, "sock_diag refused the TCP dump");
			auto *m = reinterpret_cast<inet_diag_msg *>(NLMSG_DATA(h));
			uint64_t cookie = uint64_t(m->id.idiag_cookie[0]) | uint64_t(m->id.idiag_cookie[1]) << 32;
			int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
			for (auto *a = reinterpret_cast<rtattr *>(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
				if (a->rta_type != INET_DIAG_INFO)
					continue;
				tcp_info info {};
				size_t got = std::min<size_t>(RTA_PAYLOAD(a), sizeof(info));
				memcpy(&info, RTA_DATA(a), got);
				out[cookie] = from_info(info, got);
			}
		}
	}
}

} // namespace

std::unordered_map<uint64_t, LiveTcp> read_live_tcp()
{
	std::unordered_map<uint64_t, LiveTcp> live;
	dump(AF_INET, live);
	dump(AF_INET6, live);
	return live;
}

uint64_t own_netns_cookie()
{
	UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	if (!fd || getsockopt(fd.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		return 0;
	return cookie;
}

} // namespace tcpxi
