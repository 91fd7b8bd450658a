// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// net-snmp pass_persist: the per-cgroup counters under one OID subtree, laid out as
// docs/mib/TCPXI-MIB.txt describes.
#include <tcpxi/stats.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

namespace tcpxi {

namespace {

using Oid = std::vector<uint32_t>;

Oid parse_oid(const std::string &text)
{
	Oid oid;
	std::string part;
	std::istringstream in(text);
	while (std::getline(in, part, '.')) {
		if (part.empty())
			continue;
		if (part.find_first_not_of("0123456789") != std::string::npos)
			return {};
		try {
			oid.push_back(static_cast<uint32_t>(std::stoul(part)));
		} catch (...) {
			return {};
		}
	}
	return oid;
}

std::string format_oid(const Oid &oid)
{
	std::string text;
	for (uint32_t n : oid)
		text += "." + std::to_string(n);
	return text;
}

// Columns of tcpxiCgroupEntry (the MIB's order): the stats plugin's counter each one
// shows, or a computed value.
struct Column {
	uint32_t number;
	const char *type;
	const char *counter; // the stats plugin's counter, or a special name below
};

const Column kCgroupColumns[] = {
	{2, "string", "#path"},
	{3, "counter64", "active_opens"},
	{4, "counter64", "passive_opens"},
	{5, "counter64", "failed_opens"},
	{6, "counter64", "estab_resets"},
	{7, "gauge", "#established_now"},
	{8, "counter64", "established"},
	{9, "counter64", "closed"},
	{10, "counter64", "retrans_segs"},
	{11, "counter64", "rto_expirations"},
	{12, "counter64", "bytes_acked"},
	{13, "counter64", "bytes_received"},
	{14, "counter64", "segs_in"},
	{15, "counter64", "segs_out"},
	{16, "counter64", "data_segs_in"},
	{17, "counter64", "data_segs_out"},
	{18, "counter64", "delivered"},
	{19, "counter64", "delivered_ce"},
	{20, "counter64", "rtt_samples"},
	{21, "counter64", "rtt_sum_us"},
	{22, "gauge", "#connections_now"},
	{23, "counter64", "conns_untracked"},
};

uint32_t row_index(const CgroupStats &cs)
{
	return static_cast<uint32_t>(cs.cgroup_id & 0xffffffffu);
}

std::string clamp_gauge(uint64_t v)
{
	return std::to_string(std::min<uint64_t>(v, 0xffffffffu));
}

} // namespace

std::vector<SnmpVar> snmp_variables(const StatsSnapshot &snap, const std::string &base_oid)
{
	const Oid base = parse_oid(base_oid);
	std::vector<SnmpVar> vars;
	auto add = [&](Oid suffix, const std::string &type, const std::string &value) {
		Oid oid = base;
		oid.insert(oid.end(), suffix.begin(), suffix.end());
		vars.push_back({std::move(oid), type, value});
	};
	// tcpxiInfo
	add({1, 1, 1, 0}, "string", snap.version);
	add({1, 1, 2, 0}, "string", snap.kernel);

	std::vector<const CgroupStats *> rows;
	for (const auto &cs : snap.cgroups)
		rows.push_back(&cs);
	std::sort(rows.begin(), rows.end(), [](auto *a, auto *b) { return row_index(*a) < row_index(*b); });

	// tcpxiCgroupTable: cgroups with the stats plugin.
	for (const auto &col : kCgroupColumns)
		for (const auto *cs : rows) {
			if (!cs->tcp)
				continue;
			std::string c = col.counter, value;
			if (c == "#path")
				value = cs->cgroup;
			else if (c == "#established_now")
				value = clamp_gauge(cs->established_now);
			else if (c == "#connections_now")
				value = clamp_gauge(cs->connections_now);
			else
				value = std::to_string(cs->tcp_counter(c));
			add({1, 2, 1, col.number, row_index(*cs)}, col.type, value);
		}

	// tcpxiPluginCounterTable: every plugin's counters, numbered per cgroup.
	struct Row {
		uint32_t cg, n;
		std::string plugin, name;
		uint64_t value;
	};
	std::vector<Row> counters;
	for (const auto *cs : rows) {
		uint32_t n = 0;
		auto push = [&](const std::string &plugin, const std::vector<CounterValue> &values) {
			for (const auto &v : values)
				counters.push_back({row_index(*cs), ++n, plugin, v.name, v.value});
		};
		if (cs->tcp)
			push(kStatsPlugin, cs->tcp_counters);
		for (const auto &pc : cs->plugins)
			push(pc.plugin, pc.counters);
	}
	for (uint32_t column = 2; column <= 4; column++)
		for (const auto &r : counters) {
			if (column == 2)
				add({1, 3, 1, 2, r.cg, r.n}, "string", r.plugin);
			else if (column == 3)
				add({1, 3, 1, 3, r.cg, r.n}, "string", r.name);
			else
				add({1, 3, 1, 4, r.cg, r.n}, "counter64", std::to_string(r.value));
		}

	// tcpxiRttHistTable: bucket bound (us, 0: none) and count, per cgroup.
	for (uint32_t column = 2; column <= 3; column++)
		for (const auto *cs : rows) {
			if (!cs->tcp)
				continue;
			for (size_t b = 0; b < cs->rtt.counts.size(); b++) {
				if (column == 2)
					add({1, 4, 1, 2, row_index(*cs), uint32_t(b + 1)}, "gauge",
					    clamp_gauge(cs->rtt.upper_us[b]));
				else
					add({1, 4, 1, 3, row_index(*cs), uint32_t(b + 1)}, "counter64",
					    std::to_string(cs->rtt.counts[b]));
			}
		}
	std::sort(vars.begin(), vars.end(), [](const SnmpVar &a, const SnmpVar &b) { return a.oid < b.oid; });
	return vars;
}

void serve_pass_persist(std::istream &in, std::ostream &out, const std::function<StatsSnapshot()> &read,
			const std::string &base_oid, int cache_ms)
{
	using clock = std::chrono::steady_clock;
	std::vector<SnmpVar> vars;
	clock::time_point read_at{};
	bool have = false;
	auto current = [&]() -> const std::vector<SnmpVar> & {
		if (!have || clock::now() - read_at > std::chrono::milliseconds(cache_ms)) {
			try {
				vars = snmp_variables(read(), base_oid);
			} catch (const std::exception &e) {
				std::cerr << "tcpxi snmp: " << e.what() << '\n';
				vars.clear();
			}
			read_at = clock::now();
			have = true;
		}
		return vars;
	};
	auto reply = [&](const SnmpVar *v) {
		if (!v)
			out << "NONE\n";
		else
			out << format_oid(v->oid) << '\n' << v->type << '\n' << v->value << '\n';
		out.flush();
	};
	std::string command;
	while (std::getline(in, command)) {
		if (!command.empty() && command.back() == '\r')
			command.pop_back();
		if (command.empty())
			return;
		if (command == "PING") {
			out << "PONG\n";
			out.flush();
		} else if (command == "get" || command == "getnext") {
			std::string oid_text;
			if (!std::getline(in, oid_text))
				return;
			Oid oid = parse_oid(oid_text);
			const auto &all = current();
			const SnmpVar *found = nullptr;
			if (command == "get") {
				auto it = std::lower_bound(all.begin(), all.end(), oid,
							   [](const SnmpVar &v, const Oid &o) { return v.oid < o; });
				if (it != all.end() && it->oid == oid)
					found = &*it;
			} else {
				auto it = std::upper_bound(all.begin(), all.end(), oid,
							   [](const Oid &o, const SnmpVar &v) { return o < v.oid; });
				if (it != all.end())
					found = &*it;
			}
			reply(found);
		} else if (command == "set") {
			std::string oid_text, value;
			std::getline(in, oid_text);
			std::getline(in, value);
			out << "not-writable\n";
			out.flush();
		} else {
			out << "NONE\n";
			out.flush();
		}
	}
}

} // namespace tcpxi
