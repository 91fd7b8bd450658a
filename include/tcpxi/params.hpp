// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <tcpxi/manifest.hpp>

namespace tcpxi {

using ParamValue = std::variant<uint64_t, std::string>;

// The parameters given for one attachment, by name; a missing name is "unset":
// the plugin leaves the kernel's behaviour alone for it.
using ParamValues = std::map<std::string, ParamValue>;

// Parses "KEY=VALUE" strings against the manifest; every error names the input and
// the accepted range. Nothing is applied until all of them parse.
ParamValues parse_assignments(const Manifest &manifest, const std::vector<std::string> &assignments);

// Parses one value of a parameter ("on"/"off"/"true"/"1" for bool, k/m/g suffixes for
// integers are not accepted: units are in the name).
ParamValue parse_value(const Manifest &manifest, const ParamSpec &spec, const std::string &text);

std::string format_value(const ParamSpec &spec, const ParamValue &value);

} // namespace tcpxi
