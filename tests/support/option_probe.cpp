// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "option_probe.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace tcpxi::test {

namespace {

uint16_t be16(const uint8_t *p) { return (p[0] << 8) | p[1]; }
uint32_t be32(const uint8_t *p) { return (uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

// The TCP checksum over the IPv4 pseudo-header and the segment.
uint16_t tcp_checksum(in_addr src, in_addr dst, const std::vector<uint8_t> &segment)
{
	uint32_t sum = 0;
	auto add = [&](const uint8_t *p, size_t n) {
		for (size_t i = 0; i + 1 < n; i += 2)
			sum += be16(p + i);
		if (n & 1)
			sum += p[n - 1] << 8;
	};
	add(reinterpret_cast<const uint8_t *>(&src), 4);
	add(reinterpret_cast<const uint8_t *>(&dst), 4);
	sum += IPPROTO_TCP + segment.size();
	add(segment.data(), segment.size());
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

std::vector<uint8_t> tcp_segment(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
				 std::vector<uint8_t> options, const std::string &data)
{
	while (options.size() % 4)
		options.push_back(1); // NOP
	std::vector<uint8_t> seg(20 + options.size());
	put16(&seg[0], sport);
	put16(&seg[2], dport);
	put32(&seg[4], seq);
	put32(&seg[8], ack);
	seg[12] = (seg.size() / 4) << 4;
	seg[13] = flags;
	put16(&seg[14], 64240);
	std::copy(options.begin(), options.end(), seg.begin() + 20);
	seg.insert(seg.end(), data.begin(), data.end());
	return seg;
}

} // namespace

std::optional<std::vector<uint8_t>> find_option(const std::vector<uint8_t> &options, uint8_t kind, int exid)
{
	size_t off = 0;
	while (off < options.size()) {
		uint8_t k = options[off];
		if (k == 0)
			break;
		if (k == 1) {
			off++;
			continue;
		}
		if (off + 1 >= options.size())
			break;
		uint8_t len = options[off + 1];
		if (len < 2 || off + len > options.size())
			break;
		bool match = k == kind;
		if (match && exid >= 0)
			match = len >= 4 && be16(&options[off + 2]) == exid;
		if (match)
			return std::vector<uint8_t>(options.begin() + off, options.begin() + off + len);
		off += len;
	}
	return std::nullopt;
}

OptionCapture::OptionCapture(const std::string &ifname)
{
	fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd_ < 0)
		throw std::runtime_error(std::string("AF_PACKET socket: ") + strerror(errno));
	int one = 1;
	setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	int rcvbuf = 8 << 20;
	setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	sockaddr_ll sll {};
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(ifname.c_str());
	if (!sll.sll_ifindex || bind(fd_, reinterpret_cast<sockaddr *>(&sll), sizeof(sll)))
		throw std::runtime_error("cannot capture on " + ifname);
}

OptionCapture::~OptionCapture()
{
	if (fd_ >= 0)
		close(fd_);
}

std::vector<WireSegment> OptionCapture::segments(int settle_ms)
{
	std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms));
	std::vector<WireSegment> segments;
	uint8_t frame[256];
	char control[256];
	for (;;) {
		iovec iov{frame, sizeof(frame)};
		msghdr msg {};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		// MSG_TRUNC: the length of the whole frame, though only its headers are copied.
		ssize_t n = recvmsg(fd_, &msg, MSG_TRUNC);
		if (n <= 0)
			break;
		size_t got = std::min<size_t>(n, sizeof(frame));
		if (got < 14)
			continue;
		WireSegment seg;
		for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
				timespec ts;
				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				seg.time_us = int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
			}
		uint16_t ethertype = be16(frame + 12);
		const uint8_t *ip = frame + 14;
		size_t left = got - 14;
		size_t ip_len = 0, ip_hdr = 0;
		if (ethertype == ETH_P_IP && left >= 20 && ip[9] == IPPROTO_TCP) {
			ip_hdr = (ip[0] & 0x0f) * 4;
			ip_len = be16(ip + 2);
		} else if (ethertype == ETH_P_IPV6 && left >= 40 && ip[6] == IPPROTO_TCP) {
			seg.v6 = true;
			ip_hdr = 40;
			ip_len = 40 + be16(ip + 4);
		} else {
			continue;
		}
		if (left < ip_hdr + 20)
			continue;
		const uint8_t *tcp = ip + ip_hdr;
		size_t tcp_hdr = (tcp[12] >> 4) * 4;
		if (tcp_hdr < 20 || left < ip_hdr + tcp_hdr)
			continue;
		// A GSO frame's IP length field may be 0 or stale: trust the frame length.
		size_t frame_ip_len = size_t(n) - 14;
		if (ip_len < ip_hdr + tcp_hdr || ip_len > frame_ip_len)
			ip_len = frame_ip_len;
		seg.src_port = be16(tcp);
		seg.dst_port = be16(tcp + 2);
		seg.seq = be32(tcp + 4);
		seg.ack = be32(tcp + 8);
		seg.flags = tcp[13];
		seg.payload = ip_len - ip_hdr - tcp_hdr;
		seg.options.assign(tcp + 20, tcp + tcp_hdr);
		segments.push_back(std::move(seg));
	}
	return segments;
}

ScopedNftTable::ScopedNftTable(const std::string &netns, const std::string &body)
	: netns_(netns), name_(unique_name("tcpxi_t", 24))
{
	const std::string prefix = netns_.empty() ? "" : "ip netns exec " + netns_ + " ";
	char path[] = "/tmp/tcpxi-nft-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		throw std::runtime_error("mkstemp failed");
	const std::string ruleset = "table inet " + name_ + " {\n" + body + "\n}\n";
	bool written = write(fd, ruleset.data(), ruleset.size()) == ssize_t(ruleset.size());
	close(fd);
	try {
		if (!written)
			throw std::runtime_error("cannot write " + std::string(path));
		run(prefix + "nft -f " + path);
	} catch (...) {
		unlink(path);
		throw;
	}
	unlink(path);
}

ScopedNftTable::~ScopedNftTable()
{
	const std::string prefix = netns_.empty() ? "" : "ip netns exec " + netns_ + " ";
	try {
		run(prefix + "nft delete table inet " + name_);
	} catch (const std::exception &e) {
		fprintf(stderr, "warning: %s\n", e.what());
	}
}

void netns_sysctl(const std::string &netns, const std::string &key, const std::string &value)
{
	const std::string prefix = netns.empty() ? "" : "ip netns exec " + netns + " ";
	run(prefix + "sysctl -qw " + key + "=" + value);
}

WireSegment raw_handshake(const std::string &src, const std::string &dst, uint16_t src_port, uint16_t dst_port,
			  const std::vector<uint8_t> &syn_options, const std::string &data)
{
	in_addr src_addr {}, dst_addr {};
	inet_pton(AF_INET, src.c_str(), &src_addr);
	inet_pton(AF_INET, dst.c_str(), &dst_addr);
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		throw std::runtime_error(std::string("raw socket: ") + strerror(errno));
	sockaddr_in to {};
	to.sin_family = AF_INET;
	to.sin_addr = dst_addr;
	auto send_segment = [&](std::vector<uint8_t> seg) {
		put16(&seg[16], tcp_checksum(src_addr, dst_addr, seg));
		if (sendto(fd, seg.data(), seg.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)) < 0)
			throw std::runtime_error(std::string("raw sendto: ") + strerror(errno));
	};
	const uint32_t isn = 0x10000000u + src_port;
	send_segment(tcp_segment(src_port, dst_port, isn, 0, kSyn, syn_options, ""));

	WireSegment syn_ack;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
	bool answered = false;
	while (!answered && std::chrono::steady_clock::now() < deadline) {
		pollfd pfd{fd, POLLIN, 0};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		uint8_t pkt[1500];
		ssize_t n = recv(fd, pkt, sizeof(pkt), 0);
		if (n < 40)
			continue;
		size_t ihl = (pkt[0] & 0x0f) * 4;
		const uint8_t *tcp = pkt + ihl;
		size_t doff = (tcp[12] >> 4) * 4;
		if (size_t(n) < ihl + doff || be16(tcp) != dst_port || be16(tcp + 2) != src_port)
			continue;
		if ((tcp[13] & (kSyn | kAck)) != (kSyn | kAck) || be32(tcp + 8) != isn + 1)
			continue;
		syn_ack.flags = tcp[13];
		syn_ack.src_port = dst_port;
		syn_ack.dst_port = src_port;
		syn_ack.seq = be32(tcp + 4);
		syn_ack.ack = be32(tcp + 8);
		syn_ack.options.assign(tcp + 20, tcp + doff);
		answered = true;
	}
	if (!answered) {
		close(fd);
		throw std::runtime_error("no SYN-ACK to the crafted SYN");
	}
	send_segment(tcp_segment(src_port, dst_port, isn + 1, syn_ack.seq + 1, kAck | kPsh, {}, data));
	close(fd);
	return syn_ack;
}

int64_t monotonic_ms()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

} // namespace tcpxi::test
