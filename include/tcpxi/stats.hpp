// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Statistics: every plugin's counters per cgroup, the stats plugin's TCP counters and
// RTT histogram, and the live connections it tracks (RFC 4898 Perf and Path values);
// rendered for Prometheus (text exposition, file or HTTP) and for net-snmp.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tcpxi/tcpxi.hpp>

namespace tcpxi {

// The plugin whose counters are TCP's own, per cgroup.
inline constexpr const char *kStatsPlugin = "stats";

struct RttHistogram {
	// Bucket b counts samples of at most upper_us[b] microseconds (not cumulative);
	// the last bucket has no bound (upper_us = 0 there, read it as +Inf).
	std::vector<uint64_t> upper_us;
	std::vector<uint64_t> counts;
	uint64_t samples = 0;
	uint64_t sum_us = 0;
};

struct PluginCounters {
	std::string plugin;
	std::vector<CounterValue> counters; // manifest order, summed over CPUs
	std::vector<std::string> descriptions; // same order
};

struct CgroupStats {
	std::string cgroup; // relative to the cgroup2 mount
	uint64_t cgroup_id = 0;
	std::vector<PluginCounters> plugins; // every attached plugin with counters
	// Present when the stats plugin is attached to this cgroup.
	bool tcp = false;
	std::vector<CounterValue> tcp_counters; // the stats plugin's counters
	uint64_t established_now = 0;           // ESTABLISHED or CLOSE-WAIT now
	uint64_t connections_now = 0;           // in the connection table now
	RttHistogram rtt;

	// The named counter of the stats plugin (0 when absent).
	uint64_t tcp_counter(const std::string &name) const;
};

// One live connection of a cgroup the stats plugin is attached to.
struct ConnStats {
	uint64_t cookie = 0; // the socket cookie (ss -e shows it as sk:... no, as "cookie")
	uint64_t cgroup_id = 0;
	std::string cgroup;
	uint64_t netns_cookie = 0;
	bool live = false; // values read now via sock_diag; else the plugin's snapshot
	double snapshot_age_s = 0; // how old the values are when not live
	bool v6 = false;
	std::string local;  // address, IPv6 in brackets
	std::string remote;
	uint16_t local_port = 0;
	uint16_t remote_port = 0;
	bool active = false; // this end connected
	std::string state;   // "ESTABLISHED", "CLOSE-WAIT", ...
	double age_s = 0;    // since established
	// RFC 4898 (TCP-ESTATS-MIB) Perf and Path values
	uint32_t srtt_us = 0;       // tcpEStatsPathSmoothedRTT
	uint32_t min_rtt_us = 0;    // tcpEStatsPathMinRTT
	uint32_t rttvar_us = 0;     // tcpEStatsPathRTTVar (live only)
	uint32_t rto_us = 0;        // tcpEStatsPathCurRTO (live only)
	uint32_t snd_cwnd = 0;      // tcpEStatsPerfCurCwnd, segments
	uint32_t snd_ssthresh = 0;  // tcpEStatsPerfCurSsthresh, segments
	uint32_t mss = 0;           // tcpEStatsPerfCurMSS
	uint32_t total_retrans = 0; // tcpEStatsPerfSegsRetrans
	uint64_t bytes_acked = 0;   // tcpEStatsAppHCThruOctetsAcked
	uint64_t bytes_received = 0; // tcpEStatsAppHCThruOctetsReceived
	uint32_t segs_in = 0;       // tcpEStatsPerfSegsIn
	uint32_t segs_out = 0;      // tcpEStatsPerfSegsOut
	uint32_t delivered = 0;
	uint32_t delivered_ce = 0;  // tcpEStatsPathCERcvd, as the sender learns it
	uint64_t pacing_rate = 0;   // bytes/s
	uint64_t delivery_rate = 0; // bytes/s (live only)
};

struct StatsQuery {
	std::optional<std::string> cgroup; // this cgroup and the connections below it
	bool connections = false;          // read the connection table too
	bool live = true;                  // overlay sock_diag values (own namespace)
};

struct StatsSnapshot {
	std::string version;
	std::string kernel;
	uint64_t time_ms = 0; // wall clock
	std::vector<CgroupStats> cgroups;
	std::vector<ConnStats> connections;
	// Nested stats attachments (one cgroup below another): byte counters of the
	// connections below go to the innermost attachment only.
	std::vector<std::string> warnings;
};

// Reads everything from the kernel (pins, maps, sock_diag). Root.
StatsSnapshot read_stats(const Tcpxi &tcpxi, const StatsQuery &query = {});

// ---- Prometheus -----------------------------------------------------------------------
// The text exposition format (version 0.0.4): tcpxi_ prefix, base units, _total
// counters, the RTT histogram as a Prometheus histogram, labels cgroup and plugin only.
std::string prometheus_text(const StatsSnapshot &snapshot);

// Writes `text` to `path` atomically (a temporary file in the same directory, fsync,
// rename), as node-exporter's textfile collector wants.
void write_file_atomically(const std::string &path, const std::string &text);

// Serves GET /metrics (and / with a pointer to it) over HTTP/1.1 on one thread.
// `address` is HOST:PORT ("127.0.0.1:9464", "[::1]:0", ":9464" for any); port 0
// picks a free port (see port()). render() runs once per scrape.
class MetricsServer {
public:
	MetricsServer(std::string address, std::function<std::string()> render);
	// The usual server: prometheus_text(read_stats(Tcpxi(options))) per scrape.
	static std::unique_ptr<MetricsServer> for_instance(const Options &options, const std::string &address);
	~MetricsServer();
	MetricsServer(const MetricsServer &) = delete;
	MetricsServer &operator=(const MetricsServer &) = delete;

	void start(); // binds and listens (throws Error), then serves in the background
	void stop();  // idempotent; joins the thread
	uint16_t port() const;
	std::string url() const; // http://HOST:PORT/metrics

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

// ---- SNMP -------------------------------------------------------------------------------
// The OID subtree of docs/mib/TCPXI-MIB.txt: tcpxiMIB.
inline constexpr const char *kTcpxiMibOid = ".1.3.6.1.4.1.8072.9999.7465";

// net-snmp's pass_persist protocol on `in`/`out` (PING/get/getnext/set), answering
// from read() (called at most once per `cache_ms` milliseconds). Returns at EOF or
// an empty line.
void serve_pass_persist(std::istream &in, std::ostream &out, const std::function<StatsSnapshot()> &read,
			const std::string &base_oid = kTcpxiMibOid, int cache_ms = 1000);

// The variables of the MIB for one snapshot, in OID order: {oid, type, value}, with
// pass_persist's type names (counter64, gauge, integer, string).
struct SnmpVar {
	std::vector<uint32_t> oid;
	std::string type;
	std::string value;
};
std::vector<SnmpVar> snmp_variables(const StatsSnapshot &snapshot, const std::string &base_oid = kTcpxiMibOid);

} // namespace tcpxi
