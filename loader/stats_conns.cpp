// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The stats plugin's connection table (tcpxi_conns: socket cookie -> connection),
// found through the program that uses it and read in batches.
#include "stats_internal.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

#include <tcpxi/error.hpp>

namespace tcpxi {

namespace {

// struct tcpxi_conn in bpf/stats.bpf.c.
struct ConnRecord {
	uint64_t cgroup_id;
	uint64_t netns_cookie;
	uint64_t started_ns;
	uint64_t updated_ns;
	uint32_t family;
	uint32_t state;
	uint8_t local_addr[16];
	uint8_t remote_addr[16];
	uint16_t local_port;
	uint16_t remote_port;
	uint32_t active;
	uint32_t srtt_us;
	uint32_t min_rtt_us;
	uint32_t snd_cwnd;
	uint32_t snd_ssthresh;
	uint32_t mss;
	uint32_t total_retrans;
	uint32_t segs_in;
	uint32_t segs_out;
	uint32_t delivered;
	uint32_t delivered_ce;
	uint64_t bytes_acked;
	uint64_t bytes_received;
	uint64_t pacing_rate;
};
static_assert(sizeof(ConnRecord) == 144);

std::string address(uint32_t family, const uint8_t *bytes)
{
	char text[INET6_ADDRSTRLEN] = "?";
	inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, bytes, text, sizeof(text));
	return text;
}

ConnStats to_conn(uint64_t cookie, const ConnRecord &r, uint64_t now_ns)
{
	ConnStats c;
	c.cookie = cookie;
	c.cgroup_id = r.cgroup_id;
	c.netns_cookie = r.netns_cookie;
	c.v6 = r.family == AF_INET6;
	c.local = address(r.family, r.local_addr);
	c.remote = address(r.family, r.remote_addr);
	c.local_port = r.local_port;
	c.remote_port = r.remote_port;
	c.active = r.active;
	c.state = tcp_state_name(r.state);
	c.age_s = now_ns > r.started_ns ? double(now_ns - r.started_ns) / 1e9 : 0;
	c.snapshot_age_s = now_ns > r.updated_ns ? double(now_ns - r.updated_ns) / 1e9 : 0;
	c.srtt_us = r.srtt_us;
	c.min_rtt_us = r.min_rtt_us == ~0u ? 0 : r.min_rtt_us;
	c.snd_cwnd = r.snd_cwnd;
	c.snd_ssthresh = r.snd_ssthresh;
	c.mss = r.mss;
	c.total_retrans = r.total_retrans;
	c.segs_in = r.segs_in;
	c.segs_out = r.segs_out;
	c.delivered = r.delivered;
	c.delivered_ce = r.delivered_ce;
	c.bytes_acked = r.bytes_acked;
	c.bytes_received = r.bytes_received;
	c.pacing_rate = r.pacing_rate;
	return c;
}

} // namespace

std::string tcp_state_name(uint32_t state)
{
	static const char *names[] = {"?",          "ESTABLISHED", "SYN-SENT", "SYN-RECV",  "FIN-WAIT-1",
				      "FIN-WAIT-2", "TIME-WAIT",   "CLOSE",    "CLOSE-WAIT", "LAST-ACK",
				      "LISTEN",     "CLOSING",     "NEW-SYN-RECV"};
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

UniqueFd map_of_program(int prog_fd, const std::string &map_name)
{
	bpf_prog_info info {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		throw_errno(errno, "cannot read program info");
	std::vector<uint32_t> ids(info.nr_map_ids);
	if (!ids.empty()) {
		uint32_t n = info.nr_map_ids;
		info = {};
		info.nr_map_ids = n;
		info.map_ids = reinterpret_cast<uint64_t>(ids.data());
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
			throw_errno(errno, "cannot read the maps of a program");
		ids.resize(std::min(n, info.nr_map_ids));
	}
	for (uint32_t id : ids) {
		UniqueFd fd(bpf_map_get_fd_by_id(id));
		if (!fd)
			continue;
		bpf_map_info minfo {};
		uint32_t mlen = sizeof(minfo);
		if (!bpf_obj_get_info_by_fd(fd.get(), &minfo, &mlen) && map_name == minfo.name)
			return fd;
	}
	return UniqueFd();
}

std::vector<ConnStats> read_conn_table(int map_fd, uint64_t now_ns)
{
	bpf_map_info info {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		throw_errno(errno, "cannot read the connection table's info");
	if (info.value_size != sizeof(ConnRecord) || info.key_size != sizeof(uint64_t))
		throw Error(ErrorKind::conflict, "the loaded stats plugin's connection table has another layout than "
						 "this tcpxi expects (loaded by another tcpxi build): detach and attach stats again");
	std::vector<ConnStats> conns;
	// Batches: one system call per few thousand entries, not two per entry.
	const uint32_t batch = 4096;
	std::vector<uint64_t> keys(batch);
	std::vector<ConnRecord> values(batch);
	uint64_t in_batch = 0, out_batch = 0;
	bool first = true, batched = true;
	for (;;) {
		uint32_t count = batch;
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int err = bpf_map_lookup_batch(map_fd, first ? nullptr : &in_batch, &out_batch, keys.data(),
					       values.data(), &count, &opts);
		int saved = errno;
		if (err && saved != ENOENT) {
			if (first && (saved == EINVAL || saved == EOPNOTSUPP || saved == 524 /* ENOTSUPP */)) {
				batched = false;
				break;
			}
			throw_errno(saved, "cannot read the connection table");
		}
		for (uint32_t i = 0; i < count; i++)
			conns.push_back(to_conn(keys[i], values[i], now_ns));
		if (err) // ENOENT: that was the last batch
			break;
		in_batch = out_batch;
		first = false;
	}
	if (batched)
		return conns;
	uint64_t key = 0, next = 0;
	const uint64_t *prev = nullptr;
	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		ConnRecord value {};
		if (!bpf_map_lookup_elem(map_fd, &next, &value))
			conns.push_back(to_conn(next, value, now_ns));
		key = next;
		prev = &key;
	}
	return conns;
}

} // namespace tcpxi
