// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <tcpxi/params.hpp>

#include <charconv>

#include <tcpxi/error.hpp>

namespace tcpxi {

namespace {

std::string range_text(const ParamSpec &spec)
{
	if (spec.type == ParamType::boolean)
		return "on or off";
	if (spec.type == ParamType::str)
		return "a name of " + std::to_string(spec.min) + " to " + std::to_string(spec.max) + " characters";
	std::string text = "an integer from " + std::to_string(spec.min) + " to " + std::to_string(spec.max);
	if (!spec.unit.empty())
		text += " (" + spec.unit + ")";
	return text;
}

} // namespace

ParamValue parse_value(const Manifest &manifest, const ParamSpec &spec, const std::string &text)
{
	auto bad = [&](const std::string &why) {
		return Error(ErrorKind::usage, "bad value '" + text + "' for " + manifest.name + " parameter " +
						       spec.name + ": " + why + "; expected " + range_text(spec));
	};
	switch (spec.type) {
	case ParamType::boolean:
		if (text == "on" || text == "true" || text == "yes" || text == "1")
			return uint64_t{1};
		if (text == "off" || text == "false" || text == "no" || text == "0")
			return uint64_t{0};
		throw bad("not a boolean");
	case ParamType::str: {
		if (text.size() < spec.min || text.size() > spec.max)
			throw bad("wrong length");
		for (char c : text)
			if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
				throw bad("only letters, digits, '_', '-' and '.' are allowed");
		return text;
	}
	case ParamType::u32:
	case ParamType::u64: {
		uint64_t value = 0;
		auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
		if (text.empty() || ec != std::errc() || end != text.data() + text.size())
			throw bad("not a non-negative integer");
		if (value < spec.min || value > spec.max)
			throw bad("out of range");
		return value;
	}
	}
	throw bad("unknown type");
}

ParamValues parse_assignments(const Manifest &manifest, const std::vector<std::string> &assignments)
{
	ParamValues values;
	for (const auto &assignment : assignments) {
		auto eq = assignment.find('=');
		if (eq == std::string::npos || eq == 0)
			throw Error(ErrorKind::usage, "bad assignment '" + assignment +
							      "': write KEY=VALUE (see `tcpxi plugin show " +
							      manifest.name + "`)");
		std::string key = assignment.substr(0, eq);
		const ParamSpec *spec = manifest.find_param(key);
		if (!spec) {
			std::string known;
			for (const auto &p : manifest.params)
				known += (known.empty() ? "" : ", ") + p.name;
			throw Error(ErrorKind::usage, "unknown parameter '" + key + "' for plugin " + manifest.name +
							      (known.empty() ? " (it takes none)"
									     : " (it takes: " + known + ")"));
		}
		values[key] = parse_value(manifest, *spec, assignment.substr(eq + 1));
	}
	return values;
}

std::string format_value(const ParamSpec &spec, const ParamValue &value)
{
	if (const auto *text = std::get_if<std::string>(&value))
		return *text;
	uint64_t number = std::get<uint64_t>(value);
	if (spec.type == ParamType::boolean)
		return number ? "on" : "off";
	return std::to_string(number);
}

} // namespace tcpxi
