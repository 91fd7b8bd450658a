// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcpxi {

enum class PluginKind { sockops, congestion_control };
enum class ParamType { u32, u64, boolean, str };

std::string_view to_string(PluginKind kind);
std::string_view to_string(ParamType type);

struct ParamSpec {
	std::string name;
	ParamType type = ParamType::u32;
	uint64_t min = 0; // for str: shortest length
	uint64_t max = 0; // for str: longest length
	std::string unit;
	std::string description;
};

struct CounterSpec {
	std::string name;
	std::string description;
};

// What a plugin object says about itself in its ".tcpxi" ELF section.
struct Manifest {
	std::string name;
	PluginKind kind = PluginKind::sockops;
	std::string version;
	std::string description;
	std::vector<ParamSpec> params;
	std::vector<CounterSpec> counters;
	std::vector<std::string> requires_features;

	const ParamSpec *find_param(std::string_view param) const;
};

// Parses the NUL-separated records of a ".tcpxi" section. Throws Error on a
// malformed record, naming it.
Manifest parse_manifest(std::string_view section, std::string_view origin);

} // namespace tcpxi
