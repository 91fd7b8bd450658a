// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The Prometheus text exposition of a stats snapshot, and writing it to a file
// atomically for node-exporter's textfile collector.
#include <tcpxi/stats.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <sstream>

#include <tcpxi/error.hpp>

namespace tcpxi {

namespace {

std::string escape_label(const std::string &value)
{
	std::string out;
	for (char c : value) {
		if (c == '\\')
			out += "\\\\";
		else if (c == '"')
			out += "\\\"";
		else if (c == '\n')
			out += "\\n";
		else
			out += c;
	}
	return out;
}

std::string escape_help(const std::string &value)
{
	std::string out;
	for (char c : value) {
		if (c == '\\')
			out += "\\\\";
		else if (c == '\n')
			out += "\\n";
		else
			out += c;
	}
	return out;
}

// [a-zA-Z0-9_] only.
std::string metric_part(const std::string &name)
{
	std::string out;
	for (char c : name)
		out += (isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
	return out;
}

std::string format_double(double v)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%.9g", v);
	return buf;
}

// One metric family: all its samples grouped under one HELP and TYPE, as the format
// requires.
struct Family {
	std::string type;
	std::string help;
	std::vector<std::string> samples; // complete lines
};

class Exposition {
public:
	Family &family(const std::string &name, const std::string &type, const std::string &help)
	{
		auto [it, fresh] = families_.try_emplace(name);
		if (fresh) {
			order_.push_back(name);
			it->second.type = type;
			it->second.help = help;
		}
		return it->second;
	}
	void sample(const std::string &name, const std::string &type, const std::string &help,
		    const std::string &labels, const std::string &value, const std::string &suffix = "")
	{
		family(name, type, help).samples.push_back(name + suffix + (labels.empty() ? "" : "{" + labels + "}") +
							   " " + value);
	}
	std::string text() const
	{
		std::ostringstream out;
		for (const auto &name : order_) {
			const Family &f = families_.at(name);
			out << "# HELP " << name << ' ' << escape_help(f.help) << '\n';
			out << "# TYPE " << name << ' ' << f.type << '\n';
			for (const auto &s : f.samples)
				out << s << '\n';
		}
		return out.str();
	}

private:
	std::map<std::string, Family> families_;
	std::vector<std::string> order_;
};

struct TcpMetric {
	const char *counter; // the stats plugin's counter
	const char *metric;  // without tcpxi_tcp_
	const char *help;
};

const TcpMetric kTcpMetrics[] = {
	{"active_opens", "active_opens_total", "Connections opened by connect() (SYN sent)"},
	{"passive_opens", "passive_opens_total", "Connections accepted (handshake completed)"},
	{"failed_opens", "failed_opens_total", "Active opens that never reached ESTABLISHED"},
	{"estab_resets", "established_resets_total", "Connections reset from ESTABLISHED or CLOSE-WAIT"},
	{"established", "established_total", "Connections that reached ESTABLISHED"},
	{"closed", "closed_total", "Established connections that reached CLOSED"},
	{"retrans_segs", "retransmitted_segments_total", "Segments retransmitted"},
	{"rto_expirations", "rto_expirations_total", "Retransmission timeouts that expired"},
	{"bytes_acked", "acked_bytes_total", "Bytes acknowledged by the peer (SYN and FIN count one each)"},
	{"bytes_received", "received_bytes_total", "Bytes received in order (FIN counts one)"},
	{"segs_in", "received_segments_total", "Segments received"},
	{"segs_out", "sent_segments_total", "Segments sent"},
	{"data_segs_in", "received_data_segments_total", "Segments received that carried data"},
	{"data_segs_out", "sent_data_segments_total", "Segments sent that carried data"},
	{"delivered", "delivered_segments_total", "Segments delivered to the peer"},
	{"delivered_ce", "delivered_ce_segments_total", "Segments delivered with an ECN CE mark"},
	{"conns_untracked", "untracked_connections_total",
	 "Connections missing from the connection table because it was full"},
};

} // namespace

std::string prometheus_text(const StatsSnapshot &snap)
{
	Exposition e;
	e.sample("tcpxi_info", "gauge", "tcpxi version and the kernel it runs on",
		 "version=\"" + escape_label(snap.version) + "\",kernel=\"" + escape_label(snap.kernel) + "\"", "1");
	for (const auto &cs : snap.cgroups) {
		const std::string cg = "cgroup=\"" + escape_label(cs.cgroup) + "\"";
		if (cs.tcp)
			e.sample("tcpxi_attached", "gauge", "1 for every plugin attached to a cgroup",
				 cg + ",plugin=\"" + escape_label(kStatsPlugin) + "\"", "1");
		for (const auto &pc : cs.plugins)
			e.sample("tcpxi_attached", "gauge", "1 for every plugin attached to a cgroup",
				 cg + ",plugin=\"" + escape_label(pc.plugin) + "\"", "1");
	}
	for (const auto &cs : snap.cgroups) {
		if (!cs.tcp)
			continue;
		const std::string cg = "cgroup=\"" + escape_label(cs.cgroup) + "\"";
		for (const auto &m : kTcpMetrics)
			e.sample(std::string("tcpxi_tcp_") + m.metric, "counter", m.help, cg,
				 std::to_string(cs.tcp_counter(m.counter)));
		e.sample("tcpxi_tcp_established_connections", "gauge",
			 "Connections in ESTABLISHED or CLOSE-WAIT now", cg, std::to_string(cs.established_now));
		e.sample("tcpxi_tcp_tracked_connections", "gauge",
			 "Connections in the stats plugin's connection table now", cg, std::to_string(cs.connections_now));
		// The RTT histogram: cumulative buckets in seconds.
		const std::string name = "tcpxi_tcp_rtt_seconds";
		const std::string help = "RTT samples of the cgroup's connections";
		uint64_t cumulative = 0;
		for (size_t b = 0; b < cs.rtt.counts.size(); b++) {
			cumulative += cs.rtt.counts[b];
			std::string le = cs.rtt.upper_us[b] ? format_double(double(cs.rtt.upper_us[b]) / 1e6) : "+Inf";
			e.sample(name, "histogram", help, cg + ",le=\"" + le + "\"", std::to_string(cumulative), "_bucket");
		}
		if (cs.rtt.counts.empty())
			e.sample(name, "histogram", help, cg + ",le=\"+Inf\"", std::to_string(cs.rtt.samples), "_bucket");
		e.sample(name, "histogram", help, cg, format_double(double(cs.rtt.sum_us) / 1e6), "_sum");
		e.sample(name, "histogram", help, cg, std::to_string(cumulative ? cumulative : cs.rtt.samples), "_count");
	}
	// Every other plugin's counters, read without knowing the plugin.
	for (const auto &cs : snap.cgroups) {
		const std::string cg = "cgroup=\"" + escape_label(cs.cgroup) + "\"";
		for (const auto &pc : cs.plugins)
			for (size_t i = 0; i < pc.counters.size(); i++) {
				std::string name = "tcpxi_" + metric_part(pc.plugin) + "_" + metric_part(pc.counters[i].name);
				if (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0)
					name += "_total";
				std::string help = i < pc.descriptions.size() && !pc.descriptions[i].empty()
							   ? pc.descriptions[i]
							   : "Counter " + pc.counters[i].name + " of plugin " + pc.plugin;
				e.sample(name, "counter", help, cg, std::to_string(pc.counters[i].value));
			}
	}
	return e.text();
}

void write_file_atomically(const std::string &path, const std::string &text)
{
	auto slash = path.rfind('/');
	std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
	std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
	// node-exporter reads *.prom only: a dot-file beside it is never half-read.
	std::string tmp = dir + "/." + base + ".tmp." + std::to_string(getpid());
	int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		throw_errno(errno, "cannot create " + tmp);
	size_t done = 0;
	while (done < text.size()) {
		ssize_t n = write(fd, text.data() + done, text.size() - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			close(fd);
			unlink(tmp.c_str());
			throw_errno(err, "cannot write " + tmp);
		}
		done += n;
	}
	if (fsync(fd) || close(fd)) {
		int err = errno;
		unlink(tmp.c_str());
		throw_errno(err, "cannot write " + tmp);
	}
	if (rename(tmp.c_str(), path.c_str())) {
		int err = errno;
		unlink(tmp.c_str());
		throw_errno(err, "cannot rename " + tmp + " to " + path);
	}
}

} // namespace tcpxi
