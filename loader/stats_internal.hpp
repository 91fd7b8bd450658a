// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Internals of `tcpxi stats`: the stats plugin's connection table and sock_diag.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <tcpxi/stats.hpp>
#include <tcpxi/unique_fd.hpp>

namespace tcpxi {

// The map of that name among the maps a loaded program uses (found by the kernel's
// prog info, so no pin is needed); empty when it has none.
UniqueFd map_of_program(int prog_fd, const std::string &map_name);

// Every entry of the stats plugin's tcpxi_conns map, as ConnStats (cgroup path and
// live values not filled in). `now_ns` is CLOCK_MONOTONIC.
std::vector<ConnStats> read_conn_table(int map_fd, uint64_t now_ns);

// Live values of the TCP sockets in this process's network namespace, by socket
// cookie (sock_diag, INET_DIAG_INFO), for the cookies asked for.
struct LiveTcp {
	std::string state;
	uint32_t srtt_us = 0, rttvar_us = 0, min_rtt_us = 0, rto_us = 0;
	uint32_t snd_cwnd = 0, snd_ssthresh = 0, mss = 0, total_retrans = 0;
	uint32_t segs_in = 0, segs_out = 0, delivered = 0, delivered_ce = 0;
	uint64_t bytes_acked = 0, bytes_received = 0, pacing_rate = 0, delivery_rate = 0;
};
std::unordered_map<uint64_t, LiveTcp> read_live_tcp();

// The cookie of this process's network namespace (SO_NETNS_COOKIE), 0 if unknown.
uint64_t own_netns_cookie();

std::string tcp_state_name(uint32_t state);

} // namespace tcpxi
