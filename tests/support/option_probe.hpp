// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The wire, option bytes included, for the TCP header-option tests: a capture that keeps
// each segment's options, sequence numbers and arrival time, a raw-socket client that
// sends a SYN with any options at all, and nftables tables of the tests' own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel_env.hpp"

namespace tcpxi::test {

// TCP header flags.
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

struct WireSegment {
	bool v6 = false;
	uint8_t flags = 0;
	uint16_t src_port = 0;
	uint16_t dst_port = 0;
	uint32_t seq = 0;
	uint32_t ack = 0;
	uint32_t payload = 0;   // bytes of TCP payload (a GSO segment counts whole)
	int64_t time_us = 0;    // when the interface saw it
	std::vector<uint8_t> options; // the raw option bytes after the 20-byte header

	bool is_syn() const { return (flags & (kSyn | kAck)) == kSyn; }
	bool is_syn_ack() const { return (flags & (kSyn | kAck)) == (kSyn | kAck); }
};

// The option of `kind` (for kinds 253/254: with `exid`) in an option list, whole (kind and
// length included); nullopt if absent or if the list cannot be walked to it.
std::optional<std::vector<uint8_t>> find_option(const std::vector<uint8_t> &options, uint8_t kind,
						int exid = -1);

// Captures TCP segments on an interface of the calling process's netns, both directions,
// from construction until segments() is called.
class OptionCapture {
public:
	explicit OptionCapture(const std::string &ifname);
	~OptionCapture();
	OptionCapture(const OptionCapture &) = delete;
	OptionCapture &operator=(const OptionCapture &) = delete;
	std::vector<WireSegment> segments(int settle_ms = 200);

private:
	int fd_ = -1;
};

// An nftables table in a network namespace ("" = the caller's); deleted on destruction.
// `body` holds the table's chains, as in `nft -f`.
class ScopedNftTable {
public:
	ScopedNftTable(const std::string &netns, const std::string &body);
	~ScopedNftTable();
	ScopedNftTable(const ScopedNftTable &) = delete;
	ScopedNftTable &operator=(const ScopedNftTable &) = delete;
	const std::string &name() const { return name_; }

private:
	std::string netns_, name_;
};

// Sets a sysctl in a network namespace ("" = the caller's).
void netns_sysctl(const std::string &netns, const std::string &key, const std::string &value);

// A TCP handshake done by hand over an IPv4 raw socket, from the calling process's netns
// (which must drop its own kernel's RSTs for `src_port`): a SYN carrying `syn_options`
// (padded to 4 bytes with NOPs), the SYN-ACK, then an ACK with `data`. Returns the SYN-ACK.
WireSegment raw_handshake(const std::string &src, const std::string &dst, uint16_t src_port, uint16_t dst_port,
			  const std::vector<uint8_t> &syn_options, const std::string &data);

// Monotonic clock in milliseconds: the same clock in every process.
int64_t monotonic_ms();

} // namespace tcpxi::test
