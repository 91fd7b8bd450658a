// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// read_stats: every attachment's counters (read generically, as `tcpxi status` does),
// the stats plugin's RTT histogram, and its live connections, all from the kernel.
#include <tcpxi/stats.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include <tcpxi/version.hpp>

#include "program_store.hpp"
#include "stats_internal.hpp"
#include "storage.hpp"

namespace tcpxi {

namespace {

uint64_t monotonic_ns()
{
	timespec ts {};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

std::string kernel_release()
{
	utsname u {};
	return uname(&u) ? "unknown" : u.release;
}

bool below(const std::string &path, const std::string &ancestor)
{
	if (ancestor == "/")
		return !path.empty();
	return path == ancestor || path.rfind(ancestor + "/", 0) == 0;
}

} // namespace

uint64_t CgroupStats::tcp_counter(const std::string &name) const
{
	for (const auto &c : tcp_counters)
		if (c.name == name)
			return c.value;
	return 0;
}

StatsSnapshot read_stats(const Tcpxi &tcpxi, const StatsQuery &query)
{
	StatsSnapshot snap;
	snap.version = TCPXI_VERSION;
	snap.kernel = kernel_release();
	snap.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
			       std::chrono::system_clock::now().time_since_epoch())
			       .count();

	Status status = tcpxi.status(query.cgroup);
	ProgramStore store(status.pin_dir);

	// `status` reads counters only beside parameters; a plugin without parameters
	// (stats is one) has its counters read here, the same generic way.
	std::map<std::string, LoadedProgram> opened;
	auto counters_of = [&](const Attachment &att) -> std::vector<CounterValue> {
		const Plugin *plugin = find_builtin_plugin(att.plugin);
		if (!att.counters.empty() || !plugin || plugin->manifest.counters.empty())
			return att.counters;
		auto it = opened.find(att.plugin);
		if (it == opened.end()) {
			LoadedProgram lp;
			if (store.is_loaded(att.plugin))
				lp = store.open(att.plugin);
			it = opened.emplace(att.plugin, std::move(lp)).first;
		}
		if (!it->second.counters)
			return {};
		try {
			return read_counters(it->second.counters.get(), it->second.counters_layout, plugin->manifest,
					     att.cgroup_id);
		} catch (const Error &) {
			return {}; // the storage went away with the cgroup
		}
	};

	// One entry per cgroup, in the order status lists them.
	std::map<uint64_t, size_t> index;
	for (auto att : status.attachments) {
		if (!att.attached)
			continue;
		att.counters = counters_of(att);
		auto [it, fresh] = index.emplace(att.cgroup_id, snap.cgroups.size());
		if (fresh) {
			CgroupStats cs;
			cs.cgroup = att.cgroup;
			cs.cgroup_id = att.cgroup_id;
			snap.cgroups.push_back(std::move(cs));
		}
		CgroupStats &cs = snap.cgroups[it->second];
		const Plugin *plugin = find_builtin_plugin(att.plugin);
		if (att.plugin == kStatsPlugin) {
			cs.tcp = true;
			cs.tcp_counters = att.counters;
			cs.established_now = cs.tcp_counter("established") - std::min(cs.tcp_counter("established"),
										      cs.tcp_counter("estab_left"));
			continue;
		}
		if (att.counters.empty())
			continue;
		PluginCounters pc;
		pc.plugin = att.plugin;
		pc.counters = att.counters;
		for (const auto &c : att.counters) {
			std::string desc;
			if (plugin)
				for (const auto &spec : plugin->manifest.counters)
					if (spec.name == c.name)
						desc = spec.description;
			pc.descriptions.push_back(desc);
		}
		cs.plugins.push_back(std::move(pc));
	}

	bool any_tcp = false;
	for (const auto &cs : snap.cgroups)
		any_tcp = any_tcp || cs.tcp;
	if (!any_tcp || !store.is_loaded(kStatsPlugin))
		return snap;

	LoadedProgram loaded = store.open(kStatsPlugin);
	for (auto &cs : snap.cgroups) {
		if (!cs.tcp)
			continue;
		// The histogram's buckets are counters rtt_le_<2^b>us ... rtt_le_inf.
		std::vector<CounterValue> rest;
		for (const auto &c : cs.tcp_counters) {
			if (c.name.rfind("rtt_le_", 0) != 0) {
				rest.push_back(c);
				continue;
			}
			std::string bound = c.name.substr(7);
			cs.rtt.upper_us.push_back(bound == "inf" ? 0 : std::stoull(bound.substr(0, bound.size() - 2)));
			cs.rtt.counts.push_back(c.value);
		}
		cs.tcp_counters = std::move(rest);
		cs.rtt.samples = cs.tcp_counter("rtt_samples");
		cs.rtt.sum_us = cs.tcp_counter("rtt_sum_us");
	}

	// Nested attachments: note them, the innermost gets the byte counts.
	std::vector<const CgroupStats *> tcp_cgroups;
	for (const auto &cs : snap.cgroups)
		if (cs.tcp)
			tcp_cgroups.push_back(&cs);
	for (const auto *a : tcp_cgroups)
		for (const auto *b : tcp_cgroups)
			if (a != b && below(b->cgroup, a->cgroup) && b->cgroup != a->cgroup)
				snap.warnings.push_back("stats is attached to " + a->cgroup + " and to " + b->cgroup +
							" below it: bytes and segments of connections in " + b->cgroup +
							" are counted there only");

	// The connection table, needed for the per-cgroup "connections now" too.
	UniqueFd conns_map = map_of_program(loaded.prog.get(), "tcpxi_conns");
	if (!conns_map)
		return snap;
	std::vector<ConnStats> conns = read_conn_table(conns_map.get(), monotonic_ns());
	auto paths = cgroup_paths_by_id();
	std::vector<ConnStats> kept;
	for (auto &c : conns) {
		auto p = paths.find(c.cgroup_id);
		c.cgroup = p == paths.end() ? "" : p->second;
		bool counted = false;
		for (auto &cs : snap.cgroups)
			if (cs.tcp && below(c.cgroup, cs.cgroup)) {
				cs.connections_now++;
				counted = true;
			}
		if (counted && query.connections)
			kept.push_back(std::move(c));
	}
	if (query.connections && query.live && !kept.empty()) {
		uint64_t own = own_netns_cookie();
		bool any_here = false;
		for (const auto &c : kept)
			any_here = any_here || (own && c.netns_cookie == own);
		if (any_here) {
			auto live = read_live_tcp();
			for (auto &c : kept) {
				if (c.netns_cookie != own)
					continue;
				auto it = live.find(c.cookie);
				if (it == live.end())
					continue;
				const LiveTcp &t = it->second;
				c.live = true;
				c.snapshot_age_s = 0;
				c.state = t.state;
				c.srtt_us = t.srtt_us;
				c.rttvar_us = t.rttvar_us;
				c.min_rtt_us = t.min_rtt_us;
				c.rto_us = t.rto_us;
				c.snd_cwnd = t.snd_cwnd;
				c.snd_ssthresh = t.snd_ssthresh;
				c.mss = t.mss;
				c.total_retrans = t.total_retrans;
				c.segs_in = t.segs_in;
				c.segs_out = t.segs_out;
				c.delivered = t.delivered;
				c.delivered_ce = t.delivered_ce;
				c.bytes_acked = t.bytes_acked;
				c.bytes_received = t.bytes_received;
				c.pacing_rate = t.pacing_rate;
				c.delivery_rate = t.delivery_rate;
			}
		}
	}
	snap.connections = std::move(kept);
	return snap;
}

} // namespace tcpxi
