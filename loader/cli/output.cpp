// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "output.hpp"

#include <algorithm>
#include <sstream>

namespace tcpxi::cli {

namespace {

std::string range_of(const ParamSpec &spec)
{
	switch (spec.type) {
	case ParamType::boolean: return "on|off";
	case ParamType::str: return std::to_string(spec.min) + ".." + std::to_string(spec.max) + " chars";
	default: return std::to_string(spec.min) + ".." + std::to_string(spec.max);
	}
}

} // namespace

std::string format_table(const std::vector<std::vector<std::string>> &rows)
{
	std::vector<size_t> widths;
	for (const auto &row : rows)
		for (size_t i = 0; i < row.size(); i++) {
			if (widths.size() <= i)
				widths.push_back(0);
			widths[i] = std::max(widths[i], row[i].size());
		}
	std::ostringstream out;
	for (const auto &row : rows) {
		std::string line;
		for (size_t i = 0; i < row.size(); i++) {
			line += row[i];
			if (i + 1 < row.size())
				line += std::string(widths[i] - row[i].size() + 2, ' ');
		}
		out << line << '\n';
	}
	return out.str();
}

nlohmann::json to_json(const Plugin &plugin)
{
	const Manifest &m = plugin.manifest;
	nlohmann::json params = nlohmann::json::array();
	for (const auto &p : m.params)
		params.push_back({{"name", p.name},
				  {"type", std::string(to_string(p.type))},
				  {"min", p.min},
				  {"max", p.max},
				  {"unit", p.unit},
				  {"default", "kernel"},
				  {"description", p.description}});
	nlohmann::json counters = nlohmann::json::array();
	for (const auto &c : m.counters)
		counters.push_back({{"name", c.name}, {"description", c.description}});
	return {{"name", m.name},
		{"kind", std::string(to_string(m.kind))},
		{"version", m.version},
		{"description", m.description},
		{"origin", plugin.origin},
		{"params", params},
		{"counters", counters},
		{"requires", m.requires_features}};
}

nlohmann::json to_json(const Status &status)
{
	nlohmann::json attachments = nlohmann::json::array();
	for (const auto &a : status.attachments) {
		nlohmann::json params = nlohmann::json::object();
		for (const auto &[k, v] : a.params)
			params[k] = v;
		nlohmann::json counters = nlohmann::json::object();
		for (const auto &c : a.counters)
			counters[c.name] = c.value;
		attachments.push_back({{"cgroup", a.cgroup},
				       {"cgroup_id", a.cgroup_id},
				       {"plugin", a.plugin},
				       {"attached", a.attached},
				       {"note", a.note},
				       {"prog_id", a.prog_id},
				       {"prog_name", a.prog_name},
				       {"link_id", a.link_id},
				       {"params", params},
				       {"counters", counters}});
	}
	nlohmann::json ccs = nlohmann::json::array();
	for (const auto &r : status.congestion_controls)
		ccs.push_back({{"algorithm", r.algorithm},
			       {"plugin", r.plugin},
			       {"map_id", r.map_id},
			       {"link_id", r.link_id},
			       {"mechanism", r.mechanism},
			       {"cgroups", r.cgroups}});
	return {{"pin_dir", status.pin_dir}, {"attachments", attachments}, {"congestion_controls", ccs}};
}

nlohmann::json to_json(const Report &report)
{
	return {{"changes", report.lines}};
}

std::string plugin_table(const std::vector<Plugin> &plugins)
{
	std::vector<std::vector<std::string>> rows{{"NAME", "KIND", "VERSION", "PARAMS", "DESCRIPTION"}};
	for (const auto &p : plugins)
		rows.push_back({p.manifest.name, std::string(to_string(p.manifest.kind)), p.manifest.version,
				std::to_string(p.manifest.params.size()), p.manifest.description});
	return format_table(rows);
}

std::string plugin_details(const Plugin &plugin)
{
	const Manifest &m = plugin.manifest;
	std::ostringstream out;
	out << m.name << " " << m.version << " (" << to_string(m.kind) << ", " << plugin.origin << ")\n"
	    << "  " << m.description << "\n";
	if (m.params.empty()) {
		out << "\nParameters: none\n";
	} else {
		out << "\nParameters (unset ones leave the kernel's default alone):\n";
		std::vector<std::vector<std::string>> rows{{"  NAME", "TYPE", "RANGE", "UNIT", "DESCRIPTION"}};
		for (const auto &p : m.params)
			rows.push_back({"  " + p.name, std::string(to_string(p.type)), range_of(p),
					p.unit.empty() ? "-" : p.unit, p.description});
		out << format_table(rows);
	}
	if (!m.counters.empty()) {
		out << "\nCounters:\n";
		std::vector<std::vector<std::string>> rows;
		for (const auto &c : m.counters)
			rows.push_back({"  " + c.name, c.description});
		out << format_table(rows);
	}
	return out.str();
}

std::string status_table(const Status &status)
{
	std::ostringstream out;
	if (status.attachments.empty()) {
		out << "No plugins attached (pins: " << status.pin_dir << ").\n";
	} else {
		std::vector<std::vector<std::string>> rows{
			{"CGROUP", "CGROUP_ID", "PLUGIN", "PROG_ID", "LINK_ID", "STATE", "PARAMETERS"}};
		for (const auto &a : status.attachments) {
			std::string params;
			for (const auto &[k, v] : a.params)
				params += (params.empty() ? "" : " ") + k + "=" + v;
			rows.push_back({a.cgroup.empty() ? "(removed)" : a.cgroup, std::to_string(a.cgroup_id), a.plugin,
					std::to_string(a.prog_id), std::to_string(a.link_id),
					(a.attached ? "attached" : "detached") + (a.note.empty() ? "" : " (" + a.note + ")"),
					params.empty() ? "-" : params});
		}
		out << format_table(rows);
		bool header = false;
		for (const auto &a : status.attachments) {
			if (a.counters.empty())
				continue;
			if (!header)
				out << "\nCounters:\n";
			header = true;
			std::string text;
			for (const auto &c : a.counters)
				text += " " + c.name + "=" + std::to_string(c.value);
			out << "  " << (a.cgroup.empty() ? std::to_string(a.cgroup_id) : a.cgroup) << " " << a.plugin << ":"
			    << text << "\n";
		}
	}
	if (!status.congestion_controls.empty()) {
		out << "\nCongestion controls registered by tcpxi:\n";
		std::vector<std::vector<std::string>> rows{{"  ALGORITHM", "PLUGIN", "MAP_ID", "LINK_ID", "MECHANISM", "CGROUPS"}};
		for (const auto &r : status.congestion_controls)
			rows.push_back({"  " + r.algorithm, r.plugin, std::to_string(r.map_id),
					r.link_id ? std::to_string(r.link_id) : "-", r.mechanism, std::to_string(r.cgroups)});
		out << format_table(rows);
	}
	return out.str();
}

} // namespace tcpxi::cli
