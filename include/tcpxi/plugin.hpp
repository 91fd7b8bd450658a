// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <tcpxi/manifest.hpp>

namespace tcpxi {

// A plugin: its manifest and the BPF object (ELF) that implements it.
struct Plugin {
	Manifest manifest;
	std::vector<uint8_t> object;
	std::string origin; // "built-in" or a file path
};

// The plugins compiled into this build, sorted by name.
const std::vector<Plugin> &builtin_plugins();

// The built-in plugin of that name, or nullptr.
const Plugin *find_builtin_plugin(const std::string &name);

// Reads a plugin from an ELF object in memory; throws Error naming `origin`.
Plugin plugin_from_object(std::span<const uint8_t> object, const std::string &origin);

} // namespace tcpxi
