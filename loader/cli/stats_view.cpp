// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "stats_view.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "output.hpp"

namespace tcpxi::cli {

namespace {

std::string ms(uint32_t us)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%.3f", us / 1000.0);
	return buf;
}

std::string endpoint(const std::string &addr, uint16_t port, bool v6)
{
	return (v6 ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

std::string rate(uint64_t bytes_per_s)
{
	if (!bytes_per_s)
		return "-";
	char buf[32];
	double bits = bytes_per_s * 8.0;
	if (bits >= 1e9)
		snprintf(buf, sizeof(buf), "%.1fG", bits / 1e9);
	else if (bits >= 1e6)
		snprintf(buf, sizeof(buf), "%.1fM", bits / 1e6);
	else if (bits >= 1e3)
		snprintf(buf, sizeof(buf), "%.1fk", bits / 1e3);
	else
		snprintf(buf, sizeof(buf), "%.0f", bits);
	return buf;
}

std::string age(double s)
{
	char buf[32];
	if (s < 60)
		snprintf(buf, sizeof(buf), "%.0fs", s);
	else if (s < 3600)
		snprintf(buf, sizeof(buf), "%.0fm%02.0fs", s / 60 - 0.5, s - 60 * int(s / 60));
	else
		snprintf(buf, sizeof(buf), "%.0fh%02dm", double(int(s / 3600)), int(s / 60) % 60);
	return buf;
}

std::string lower(std::string s)
{
	for (auto &c : s)
		c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
	return s;
}

} // namespace

std::string human_bytes(uint64_t b)
{
	const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = double(b);
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	char buf[32];
	if (u == 0)
		snprintf(buf, sizeof(buf), "%lluB", static_cast<unsigned long long>(b));
	else
		snprintf(buf, sizeof(buf), "%.1f%s", v, units[u]);
	return buf;
}

uint64_t rtt_quantile_us(const RttHistogram &h, double q)
{
	uint64_t total = 0;
	for (auto c : h.counts)
		total += c;
	if (!total)
		return 0;
	uint64_t want = static_cast<uint64_t>(q * double(total) + 0.999999), seen = 0;
	for (size_t b = 0; b < h.counts.size(); b++) {
		seen += h.counts[b];
		if (seen >= want)
			return h.upper_us[b] ? h.upper_us[b] : UINT64_MAX;
	}
	return UINT64_MAX;
}

nlohmann::json to_json(const ConnStats &c)
{
	return {{"cookie", c.cookie},
		{"cgroup", c.cgroup},
		{"cgroup_id", c.cgroup_id},
		{"netns_cookie", c.netns_cookie},
		{"live", c.live},
		{"snapshot_age_s", c.snapshot_age_s},
		{"family", c.v6 ? "inet6" : "inet"},
		{"local_addr", c.local},
		{"local_port", c.local_port},
		{"remote_addr", c.remote},
		{"remote_port", c.remote_port},
		{"active", c.active},
		{"state", c.state},
		{"age_s", c.age_s},
		{"srtt_us", c.srtt_us},
		{"min_rtt_us", c.min_rtt_us},
		{"rttvar_us", c.rttvar_us},
		{"rto_us", c.rto_us},
		{"snd_cwnd", c.snd_cwnd},
		{"snd_ssthresh", c.snd_ssthresh},
		{"mss", c.mss},
		{"total_retrans", c.total_retrans},
		{"bytes_acked", c.bytes_acked},
		{"bytes_received", c.bytes_received},
		{"segs_in", c.segs_in},
		{"segs_out", c.segs_out},
		{"delivered", c.delivered},
		{"delivered_ce", c.delivered_ce},
		{"pacing_rate", c.pacing_rate},
		{"delivery_rate", c.delivery_rate}};
}

nlohmann::json to_json(const StatsSnapshot &s)
{
	nlohmann::json cgroups = nlohmann::json::array();
	for (const auto &cs : s.cgroups) {
		nlohmann::json j{{"cgroup", cs.cgroup}, {"cgroup_id", cs.cgroup_id}};
		if (cs.tcp) {
			nlohmann::json tcp = nlohmann::json::object();
			for (const auto &c : cs.tcp_counters)
				tcp[c.name] = c.value;
			tcp["established_now"] = cs.established_now;
			tcp["connections_now"] = cs.connections_now;
			nlohmann::json buckets = nlohmann::json::array();
			for (size_t b = 0; b < cs.rtt.counts.size(); b++)
				buckets.push_back({{"le_us", cs.rtt.upper_us[b] ? nlohmann::json(cs.rtt.upper_us[b])
										: nlohmann::json(nullptr)},
						   {"count", cs.rtt.counts[b]}});
			tcp["rtt_histogram"] = {{"samples", cs.rtt.samples}, {"sum_us", cs.rtt.sum_us}, {"buckets", buckets}};
			j["tcp"] = tcp;
		} else {
			j["tcp"] = nullptr;
		}
		nlohmann::json plugins = nlohmann::json::object();
		for (const auto &pc : cs.plugins) {
			nlohmann::json counters = nlohmann::json::object();
			for (const auto &c : pc.counters)
				counters[c.name] = c.value;
			plugins[pc.plugin] = counters;
		}
		j["plugins"] = plugins;
		cgroups.push_back(j);
	}
	nlohmann::json conns = nlohmann::json::array();
	for (const auto &c : s.connections)
		conns.push_back(to_json(c));
	return {{"version", s.version},   {"kernel", s.kernel},       {"time_ms", s.time_ms},
		{"cgroups", cgroups},     {"connections", conns},     {"warnings", s.warnings}};
}

std::string stats_tables(const StatsSnapshot &s)
{
	std::ostringstream out;
	std::vector<std::vector<std::string>> tcp{{"CGROUP", "ACTIVE", "PASSIVE", "FAILED", "RESETS", "ESTAB", "CLOSED",
						   "RETRANS", "RTO", "ACKED", "RECEIVED", "SEGS_IN", "SEGS_OUT",
						   "RTT_P50", "RTT_P99"}};
	for (const auto &cs : s.cgroups) {
		if (!cs.tcp)
			continue;
		auto q = [&](double p) {
			uint64_t us = rtt_quantile_us(cs.rtt, p);
			return !us ? std::string("-") : us == UINT64_MAX ? std::string(">33s") : "<=" + ms(uint32_t(us)) + "ms";
		};
		tcp.push_back({cs.cgroup, std::to_string(cs.tcp_counter("active_opens")),
			       std::to_string(cs.tcp_counter("passive_opens")), std::to_string(cs.tcp_counter("failed_opens")),
			       std::to_string(cs.tcp_counter("estab_resets")), std::to_string(cs.established_now),
			       std::to_string(cs.tcp_counter("closed")), std::to_string(cs.tcp_counter("retrans_segs")),
			       std::to_string(cs.tcp_counter("rto_expirations")), human_bytes(cs.tcp_counter("bytes_acked")),
			       human_bytes(cs.tcp_counter("bytes_received")), std::to_string(cs.tcp_counter("segs_in")),
			       std::to_string(cs.tcp_counter("segs_out")), q(0.5), q(0.99)});
	}
	if (tcp.size() > 1)
		out << format_table(tcp);
	std::vector<std::vector<std::string>> plugins{{"CGROUP", "PLUGIN", "COUNTER", "VALUE"}};
	for (const auto &cs : s.cgroups)
		for (const auto &pc : cs.plugins)
			for (const auto &c : pc.counters)
				plugins.push_back({cs.cgroup, pc.plugin, c.name, std::to_string(c.value)});
	if (plugins.size() > 1)
		out << (tcp.size() > 1 ? "\n" : "") << format_table(plugins);
	if (tcp.size() == 1 && plugins.size() == 1)
		out << "No counters: attach the stats plugin (tcpxi attach CGROUP stats), or a plugin that counts.\n";
	if (!s.connections.empty())
		out << '\n' << format_table(connection_rows(s.connections));
	for (const auto &w : s.warnings)
		out << "note: " << w << '\n';
	return out.str();
}

const std::vector<ConnColumn> &conn_columns()
{
	static const std::vector<ConnColumn> columns = {
		{"LOCAL", [](const ConnStats &c) { return endpoint(c.local, c.local_port, c.v6); }, nullptr, false},
		{"REMOTE", [](const ConnStats &c) { return endpoint(c.remote, c.remote_port, c.v6); }, nullptr, false},
		{"STATE", [](const ConnStats &c) { return c.state; }, nullptr, false},
		{"CGROUP", [](const ConnStats &c) { return c.cgroup; }, nullptr, false},
		{"SRTT_MS", [](const ConnStats &c) { return ms(c.srtt_us); }, [](const ConnStats &c) { return double(c.srtt_us); }},
		{"MINRTT_MS", [](const ConnStats &c) { return ms(c.min_rtt_us); },
		 [](const ConnStats &c) { return double(c.min_rtt_us); }},
		{"CWND", [](const ConnStats &c) { return std::to_string(c.snd_cwnd); },
		 [](const ConnStats &c) { return double(c.snd_cwnd); }},
		{"SSTHRESH",
		 [](const ConnStats &c) { return c.snd_ssthresh >= 0x7fffffff ? std::string("-") : std::to_string(c.snd_ssthresh); },
		 [](const ConnStats &c) { return double(c.snd_ssthresh); }},
		{"RETRANS", [](const ConnStats &c) { return std::to_string(c.total_retrans); },
		 [](const ConnStats &c) { return double(c.total_retrans); }},
		{"ACKED", [](const ConnStats &c) { return human_bytes(c.bytes_acked); },
		 [](const ConnStats &c) { return double(c.bytes_acked); }},
		{"RECEIVED", [](const ConnStats &c) { return human_bytes(c.bytes_received); },
		 [](const ConnStats &c) { return double(c.bytes_received); }},
		{"DELIVERED", [](const ConnStats &c) { return std::to_string(c.delivered); },
		 [](const ConnStats &c) { return double(c.delivered); }},
		{"CE", [](const ConnStats &c) { return std::to_string(c.delivered_ce); },
		 [](const ConnStats &c) { return double(c.delivered_ce); }},
		{"PACING", [](const ConnStats &c) { return rate(c.pacing_rate); },
		 [](const ConnStats &c) { return double(c.pacing_rate); }},
		{"AGE", [](const ConnStats &c) { return age(c.age_s); }, [](const ConnStats &c) { return c.age_s; }},
	};
	return columns;
}

int find_conn_column(const std::string &name)
{
	const auto &cols = conn_columns();
	for (size_t i = 0; i < cols.size(); i++)
		if (lower(cols[i].name) == lower(name))
			return int(i);
	return -1;
}

std::vector<ConnStats> sort_connections(std::vector<ConnStats> conns, int sort, bool reverse)
{
	const auto &cols = conn_columns();
	if (sort < 0 || size_t(sort) >= cols.size())
		return conns;
	const ConnColumn &col = cols[sort];
	bool descending = col.key ? col.numeric_descending : false;
	if (reverse)
		descending = !descending;
	std::stable_sort(conns.begin(), conns.end(), [&](const ConnStats &a, const ConnStats &b) {
		if (col.key) {
			double ka = col.key(a), kb = col.key(b);
			return descending ? ka > kb : ka < kb;
		}
		std::string ta = col.text(a), tb = col.text(b);
		return descending ? ta > tb : ta < tb;
	});
	return conns;
}

std::vector<std::vector<std::string>> connection_rows(const std::vector<ConnStats> &conns, size_t limit)
{
	std::vector<std::vector<std::string>> rows;
	std::vector<std::string> header;
	for (const auto &col : conn_columns())
		header.push_back(col.name);
	rows.push_back(header);
	for (size_t i = 0; i < conns.size() && i < limit; i++) {
		std::vector<std::string> row;
		for (const auto &col : conn_columns())
			row.push_back(col.text(conns[i]));
		rows.push_back(row);
	}
	return rows;
}

} // namespace tcpxi::cli
