// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "nesting.hpp"

#include <set>

#include <tcpxi/cgroup.hpp>
#include <tcpxi/error.hpp>

#include "link_pins.hpp"
#include "program_store.hpp"
#include "storage.hpp"

namespace tcpxi {

namespace {

bool has_attached_ancestor(std::string path, const std::set<std::string> &attached)
{
	while (path != "/") {
		auto slash = path.rfind('/');
		path = slash == 0 ? "/" : path.substr(0, slash);
		if (attached.count(path))
			return true;
	}
	return false;
}

bool has_attached_descendant(const std::string &path, const std::set<std::string> &attached)
{
	const std::string prefix = path == "/" ? "/" : path + "/";
	for (auto it = attached.lower_bound(prefix); it != attached.end() && it->rfind(prefix, 0) == 0; ++it)
		if (*it != path)
			return true;
	return false;
}

} // namespace

void refresh_nesting(const std::string &pin_dir, const std::string &plugin)
{
	ProgramStore store(pin_dir);
	if (!store.is_loaded(plugin))
		return;
	LoadedProgram prog;
	try {
		prog = store.open(plugin);
	} catch (const Error &) {
		return; // nothing readable to mark
	}
	if (!prog.params)
		return;
	auto pins = LinkPins(pin_dir).of_plugin(plugin);
	auto paths = cgroup_paths_by_id();
	std::set<std::string> attached;
	for (const auto &pin : pins)
		if (auto it = paths.find(pin.cgroup_id); it != paths.end())
			attached.insert(it->second);
	for (const auto &pin : pins) {
		auto it = paths.find(pin.cgroup_id);
		if (it == paths.end())
			continue;
		bool nested = has_attached_ancestor(it->second, attached) ||
			      has_attached_descendant(it->second, attached);
		set_nested(prog.params.get(), prog.params_layout, pin.cgroup_id, nested);
	}
}

} // namespace tcpxi
