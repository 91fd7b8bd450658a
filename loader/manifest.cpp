// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <tcpxi/manifest.hpp>

#include <charconv>

#include <tcpxi/error.hpp>

namespace tcpxi {

std::string_view to_string(PluginKind kind)
{
	return kind == PluginKind::sockops ? "sockops" : "congestion-control";
}

std::string_view to_string(ParamType type)
{
	switch (type) {
	case ParamType::u32: return "u32";
	case ParamType::u64: return "u64";
	case ParamType::boolean: return "bool";
	case ParamType::str: return "str";
	}
	return "?";
}

const ParamSpec *Manifest::find_param(std::string_view param) const
{
	for (const auto &spec : params)
		if (spec.name == param)
			return &spec;
	return nullptr;
}

namespace {

std::vector<std::string_view> split(std::string_view text, char sep)
{
	std::vector<std::string_view> fields;
	size_t start = 0;
	for (;;) {
		size_t end = text.find(sep, start);
		fields.push_back(text.substr(start, end - start));
		if (end == std::string_view::npos)
			return fields;
		start = end + 1;
	}
}

uint64_t parse_bound(std::string_view text, std::string_view record, std::string_view origin)
{
	uint64_t value = 0;
	auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (ec != std::errc() || end != text.data() + text.size())
		throw Error(ErrorKind::usage, std::string(origin) + ": bad bound '" + std::string(text) +
						      "' in manifest record '" + std::string(record) + "'");
	return value;
}

ParamType parse_type(std::string_view text, std::string_view record, std::string_view origin)
{
	if (text == "u32") return ParamType::u32;
	if (text == "u64") return ParamType::u64;
	if (text == "bool") return ParamType::boolean;
	if (text == "str") return ParamType::str;
	throw Error(ErrorKind::usage, std::string(origin) + ": unknown parameter type in manifest record '" +
					      std::string(record) + "'");
}

} // namespace

Manifest parse_manifest(std::string_view section, std::string_view origin)
{
	Manifest manifest;
	bool have_plugin = false;
	for (std::string_view record : split(section, '\0')) {
		if (record.empty())
			continue;
		auto fields = split(record, '|');
		auto bad = [&] {
			return Error(ErrorKind::usage, std::string(origin) + ": malformed manifest record '" +
							       std::string(record) + "'");
		};
		if (fields[0] == "plugin") {
			if (fields.size() != 5)
				throw bad();
			manifest.name = fields[1];
			if (fields[2] == "sockops")
				manifest.kind = PluginKind::sockops;
			else if (fields[2] == "congestion-control")
				manifest.kind = PluginKind::congestion_control;
			else
				throw bad();
			manifest.version = fields[3];
			manifest.description = fields[4];
			have_plugin = true;
		} else if (fields[0] == "param") {
			if (fields.size() != 7)
				throw bad();
			ParamSpec spec;
			spec.name = fields[1];
			spec.type = parse_type(fields[2], record, origin);
			spec.min = parse_bound(fields[3], record, origin);
			spec.max = parse_bound(fields[4], record, origin);
			spec.unit = fields[5];
			spec.description = fields[6];
			manifest.params.push_back(std::move(spec));
		} else if (fields[0] == "counter") {
			if (fields.size() != 3)
				throw bad();
			manifest.counters.push_back({std::string(fields[1]), std::string(fields[2])});
		} else if (fields[0] == "requires") {
			if (fields.size() != 2)
				throw bad();
			manifest.requires_features.emplace_back(fields[1]);
		}
		// Unknown record kinds come from newer SDKs: ignore them, as libbpf ignores
		// sections it does not know.
	}
	if (!have_plugin)
		throw Error(ErrorKind::usage, std::string(origin) +
						      ": no tcpxi manifest (declare TCPXI_PLUGIN(...) from <tcpxi/plugin.h>)");
	return manifest;
}

} // namespace tcpxi
