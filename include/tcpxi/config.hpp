// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The declarative configuration, /etc/tcpxi/tcpxi.toml: which congestion controls to
// register, and which plugins each cgroup (or cgroup pattern) runs with what values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <tcpxi/params.hpp>

namespace tcpxi {

inline constexpr const char *kDefaultConfigPath = "/etc/tcpxi/tcpxi.toml";

// Where something was written: every config error starts with "file:line:column: ".
struct SourceLocation {
	std::string file;
	int line = 0;
	int column = 0;
	std::string str() const;
};

// One plugin named under a cgroup, its values checked against the plugin's manifest.
struct PluginEntry {
	std::string plugin; // as written: a sock_ops plugin or a congestion-control plugin
	ParamValues values;
	SourceLocation where;
};

struct CgroupEntry {
	std::string path; // relative to the cgroup2 mount, normalized, "/" for the root
	bool pattern = false; // contains *, ? or [ : expanded over the cgroup tree when applied
	SourceLocation where;
	std::vector<PluginEntry> plugins;
};

struct CongestionControlEntry {
	std::string plugin; // a tcpxi congestion-control plugin
	SourceLocation where;
};

struct Config {
	std::string file;
	std::vector<CongestionControlEntry> congestion_controls; // registered even if unused
	std::vector<CgroupEntry> cgroups;
};

// Parses and checks a config (syntax, keys, types, plugins, parameter ranges,
// duplicates). Throws Error(usage) with one line "file:line:column: problem; fix".
Config parse_config(std::string_view text, const std::string &file);
Config load_config(const std::string &file);

} // namespace tcpxi
