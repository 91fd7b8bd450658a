// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// status: what the kernel says is attached, found through tcpxi's pins. Nothing here
// comes from a cache: links, programs, parameters and counters are read live.
#include <tcpxi/tcpxi.hpp>

#include <bpf/bpf.h>

#include <map>

#include "bpffs.hpp"
#include "cc_registry.hpp"
#include "link_pins.hpp"
#include "program_store.hpp"

namespace tcpxi {

namespace {

// Maps and layouts of one loaded plugin, opened once per status call.
struct PluginView {
	const Plugin *plugin = nullptr;
	LoadedProgram loaded;
};

} // namespace

Status Tcpxi::status(const std::optional<std::string> &cgroup) const
{
	Status status;
	status.pin_dir = pin_dir();
	LinkPins links(status.pin_dir);
	ProgramStore store(status.pin_dir);

	std::vector<LinkPin> pins;
	if (cgroup) {
		Cgroup cg = resolve_cgroup(*cgroup);
		pins = links.of_cgroup(cg.id);
	} else {
		pins = links.all();
	}

	std::unordered_map<uint64_t, std::string> paths;
	if (!pins.empty())
		paths = cgroup_paths_by_id();
	std::map<std::string, PluginView> views;
	// Many links share one program: ask the kernel for each program's name once.
	std::map<uint32_t, std::string> prog_names;
	auto prog_name = [&prog_names](uint32_t id) {
		auto [it, fresh] = prog_names.emplace(id, "");
		if (fresh) {
			UniqueFd prog(bpf_prog_get_fd_by_id(id));
			bpf_prog_info info {};
			uint32_t len = sizeof(info);
			if (prog && !bpf_obj_get_info_by_fd(prog.get(), &info, &len))
				it->second = info.name;
		}
		return it->second;
	};
	std::map<std::string, unsigned> algorithm_users;

	for (const auto &pin : pins) {
		Attachment att;
		att.plugin = pin.plugin;
		att.cgroup_id = pin.cgroup_id;
		UniqueFd link(bpf_obj_get(pin.path.c_str()));
		if (link) {
			bpf_link_info info {};
			uint32_t len = sizeof(info);
			if (!bpf_obj_get_info_by_fd(link.get(), &info, &len)) {
				att.link_id = info.id;
				att.prog_id = info.prog_id;
				// The kernel clears the cgroup when the cgroup is removed or the
				// link was detached by another tool.
				att.attached = info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == pin.cgroup_id;
			}
			att.prog_name = prog_name(att.prog_id);
		} else {
			att.attached = false;
		}
		// A removed cgroup lingers in the kernel until its last socket is gone; to the
		// user it is gone when its directory is.
		if (auto it = paths.find(pin.cgroup_id); it != paths.end())
			att.cgroup = it->second;
		else
			att.attached = false;

		auto view = views.find(pin.plugin);
		if (view == views.end()) {
			PluginView v;
			v.plugin = find_builtin_plugin(pin.plugin);
			if (v.plugin && store.is_loaded(pin.plugin))
				v.loaded = store.open(pin.plugin);
			view = views.emplace(pin.plugin, std::move(v)).first;
		}
		const PluginView &v = view->second;
		if (v.plugin && v.loaded.params && !params_match(v.loaded.params_layout, v.plugin->manifest)) {
			att.note = "loaded by another tcpxi build";
		} else if (att.attached && v.plugin) {
			try {
				const Manifest &manifest = v.plugin->manifest;
				if (v.loaded.params)
					for (const auto &[key, value] : read_params(v.loaded.params.get(), v.loaded.params_layout,
										    manifest, pin.cgroup_id))
						att.params.emplace_back(key, format_value(*manifest.find_param(key), value));
				if (v.loaded.counters)
					att.counters = read_counters(v.loaded.counters.get(), v.loaded.counters_layout,
								     manifest, pin.cgroup_id);
			} catch (const Error &) {
				att.attached = false; // storage vanished with the cgroup
			}
		}
		if (pin.plugin == "cc")
			for (const auto &[key, value] : att.params)
				if (key == "algorithm")
					algorithm_users[value]++;
		status.attachments.push_back(std::move(att));
	}

	CcRegistry registry(status.pin_dir);
	for (auto reg : registry.list()) {
		for (const auto &plugin : builtin_plugins())
			if (algorithm_name(plugin.manifest.name) == reg.algorithm)
				reg.plugin = plugin.manifest.name;
		reg.cgroups = algorithm_users[reg.algorithm];
		status.congestion_controls.push_back(reg);
	}
	return status;
}

} // namespace tcpxi
