// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <tcpxi/plugin.hpp>

#include <algorithm>

#include <tcpxi/error.hpp>

#include "elf_section.hpp"
#include "embedded_objects.hpp"

namespace tcpxi {

Plugin plugin_from_object(std::span<const uint8_t> object, const std::string &origin)
{
	auto section = find_elf_section(object, ".tcpxi", origin);
	if (!section)
		throw Error(ErrorKind::usage,
			    origin + ": no tcpxi manifest (declare TCPXI_PLUGIN(...) from <tcpxi/plugin.h>)");
	std::string_view text(reinterpret_cast<const char *>(object.data()) + section->offset, section->size);
	Plugin plugin;
	plugin.manifest = parse_manifest(text, origin);
	plugin.object.assign(object.begin(), object.end());
	plugin.origin = origin;
	return plugin;
}

const std::vector<Plugin> &builtin_plugins()
{
	static const std::vector<Plugin> plugins = [] {
		std::vector<Plugin> all;
		for (const auto &embedded : embedded_objects())
			all.push_back(plugin_from_object(embedded.bytes, "built-in " + std::string(embedded.name)));
		std::sort(all.begin(), all.end(),
			  [](const Plugin &a, const Plugin &b) { return a.manifest.name < b.manifest.name; });
		return all;
	}();
	return plugins;
}

const Plugin *find_builtin_plugin(const std::string &name)
{
	for (const auto &plugin : builtin_plugins())
		if (plugin.manifest.name == name)
			return &plugin;
	return nullptr;
}

} // namespace tcpxi
