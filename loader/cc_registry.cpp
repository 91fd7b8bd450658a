// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "cc_registry.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <tcpxi/error.hpp>

#include "bpf_object_loader.hpp"
#include "bpffs.hpp"
#include "build_id.hpp"
#include "elf_section.hpp"
#include "uapi_compat.hpp"

namespace tcpxi {

namespace {

constexpr size_t kAlgorithmNameMax = 16; // TCP_CA_NAME_MAX, NUL included

// The struct_ops data in the object holds the algorithm's name as written in the
// source ("tcpxi_<plugin>"); rewrite it so each tcpxi instance registers its own name.
std::vector<uint8_t> renamed_object(const Plugin &plugin, const std::string &algorithm)
{
	std::vector<uint8_t> image = plugin.object;
	auto section = find_elf_section(image, ".struct_ops", plugin.origin);
	if (!section)
		throw Error(ErrorKind::usage, plugin.origin + ": no SEC(\".struct_ops\") tcp_congestion_ops map");
	const std::string source_name = "tcpxi_" + plugin.manifest.name;
	std::string needle = source_name;
	needle.push_back('\0');
	auto begin = image.begin() + section->offset;
	auto end = begin + section->size;
	auto found = std::search(begin, end, needle.begin(), needle.end());
	if (found == end || std::distance(found, end) < static_cast<long>(kAlgorithmNameMax))
		throw Error(ErrorKind::usage, plugin.origin + ": its tcp_congestion_ops .name must be \"" + source_name + "\"");
	std::fill_n(found, kAlgorithmNameMax, 0);
	std::copy(algorithm.begin(), algorithm.end(), found);
	return image;
}

uint32_t info_id(int fd, bool is_link)
{
	if (is_link) {
		bpf_link_info info {};
		uint32_t len = sizeof(info);
		return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
	}
	bpf_map_info info {};
	uint32_t len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

uint32_t pinned_id(const std::string &path, bool is_link)
{
	UniqueFd fd(bpf_obj_get(path.c_str()));
	return fd ? info_id(fd.get(), is_link) : 0;
}

bool wait_until(auto condition)
{
	for (int i = 0; i < 100; i++) {
		if (condition())
			return true;
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	return condition();
}

} // namespace

std::vector<std::string> available_congestion_controls()
{
	std::ifstream file("/proc/sys/net/ipv4/tcp_available_congestion_control");
	std::vector<std::string> names;
	std::string name;
	while (file >> name)
		names.push_back(name);
	return names;
}

const Plugin *own_algorithm(const Tcpxi &tcpxi, const std::string &algorithm)
{
	for (const auto &plugin : builtin_plugins())
		if (plugin.manifest.kind == PluginKind::congestion_control &&
		    tcpxi.algorithm_name(plugin.manifest.name) == algorithm)
			return &plugin;
	return nullptr;
}

void check_algorithm(const Tcpxi &tcpxi, const std::string &algorithm, const std::string &where)
{
	if (own_algorithm(tcpxi, algorithm))
		return;
	auto available = available_congestion_controls();
	if (std::find(available.begin(), available.end(), algorithm) != available.end())
		return;
	std::string names;
	for (const auto &name : available)
		names += (names.empty() ? "" : " ") + name;
	for (const auto &plugin : builtin_plugins())
		if (plugin.manifest.kind == PluginKind::congestion_control)
			names += " " + tcpxi.algorithm_name(plugin.manifest.name);
	throw Error(ErrorKind::usage, where + "unknown congestion control '" + algorithm + "' (available: " + names +
					      "; load a kernel module first for others)");
}

bool CcRegistry::is_registered(const std::string &algorithm) const
{
	return pin_exists(dir(algorithm) + "/map");
}

void CcRegistry::register_algorithm(const Plugin &plugin, const std::string &algorithm)
{
	if (algorithm.size() >= kAlgorithmNameMax)
		throw Error(ErrorKind::usage, "congestion control name '" + algorithm +
						      "' is longer than 15 characters (use a shorter --instance)");
	auto available = available_congestion_controls();
	if (std::find(available.begin(), available.end(), algorithm) != available.end())
		throw Error(ErrorKind::conflict, "a congestion control named " + algorithm +
							 " is already registered, not by this tcpxi instance; find it with `bpftool struct_ops show` "
							 "and remove it with `bpftool struct_ops unregister id ID`, or use another --instance");
	const std::string origin = "plugin " + plugin.manifest.name + " (" + plugin.origin + ")";
	std::vector<uint8_t> image = renamed_object(plugin, algorithm);

	// Prefer a struct_ops link (BPF_F_LINK, kernel 6.4+): it unregisters by itself if
	// tcpxi dies before pinning it. An older kernel refuses the flag at map creation.
	// TCPXI_STRUCT_OPS=legacy takes the pre-6.4 path on any kernel (tests, debugging).
	const char *forced = getenv("TCPXI_STRUCT_OPS");
	BpfObjectPtr obj;
	bpf_map *ops = nullptr;
	bool as_link = !(forced && std::string(forced) == "legacy");
	for (;;) {
		obj = open_bpf_object(image, origin);
		ops = nullptr;
		bpf_map *map = nullptr;
		bpf_object__for_each_map(map, obj.get()) {
			if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS) {
				if (ops)
					throw Error(ErrorKind::usage, origin + ": more than one struct_ops map");
				ops = map;
			}
		}
		if (!ops)
			throw Error(ErrorKind::usage, origin + ": no tcp_congestion_ops struct_ops map");
		if (as_link)
			bpf_map__set_map_flags(ops, bpf_map__map_flags(ops) | kBpfFLink);
		int err = bpf_object__load(obj.get());
		if (!err)
			break;
		if (as_link && err == -EINVAL) {
			as_link = false; // retry the legacy way
			continue;
		}
		load_bpf_object(obj.get(), origin); // throws with the right message
	}

	// libbpf 1.1 fills in the program fds while "attaching": with BPF_F_LINK that only
	// initialises the map; without it, it registers the algorithm.
	bpf_link *filled = bpf_map__attach_struct_ops(ops);
	if (!filled)
		throw_errno(errno, "cannot register congestion control " + algorithm);
	bpf_link__disconnect(filled);
	bpf_link__destroy(filled);

	const std::string final_dir = dir(algorithm);
	const std::string tmp = pin_dir_ + "/staging/cc-" + algorithm; // bpffs reserves '.'
	make_pin_dirs(pin_dir_ + "/staging");
	UniqueFd link;
	auto undo_legacy = [&] {
		if (!as_link) {
			uint32_t zero = 0;
			bpf_map_delete_elem(bpf_map__fd(ops), &zero);
		}
	};
	try {
		if (as_link) {
			link.reset(bpf_link_create(bpf_map__fd(ops), 0, kBpfStructOpsAttach, nullptr));
			if (!link)
				throw_errno(errno, "cannot register congestion control " + algorithm);
		}
		make_pin_dirs(pin_dir_ + "/cc");
		for (const auto &entry : list_pin_dir(tmp))
			remove_pin(tmp + "/" + entry);
		remove_pin(tmp);
		make_pin_dirs(tmp);
		if (bpf_obj_pin(bpf_map__fd(ops), (tmp + "/map").c_str()))
			throw_errno(errno, "cannot pin " + tmp + "/map");
		if (link && bpf_obj_pin(link.get(), (tmp + "/link").c_str()))
			throw_errno(errno, "cannot pin " + tmp + "/link");
		UniqueFd build = make_build_map(build_id(plugin));
		if (bpf_obj_pin(build.get(), (tmp + "/build").c_str()))
			throw_errno(errno, "cannot pin " + tmp + "/build");
		if (rename(tmp.c_str(), final_dir.c_str()))
			throw_errno(errno, "cannot move " + tmp + " to " + final_dir);
	} catch (...) {
		for (const auto &entry : list_pin_dir(tmp))
			remove_pin(tmp + "/" + entry);
		remove_pin(tmp);
		undo_legacy();
		throw;
	}
}

std::string CcRegistry::unregister_algorithm(const std::string &algorithm)
{
	const std::string d = dir(algorithm);
	uint32_t map_id = pinned_id(d + "/map", false);
	if (pin_exists(d + "/link")) {
		UniqueFd link(bpf_obj_get((d + "/link").c_str()));
		// Detach explicitly where the kernel supports it, so a stray fd elsewhere
		// cannot keep the algorithm registered; dropping the pin does the rest.
		if (link)
			bpf_link_detach(link.get());
		remove_pin(d + "/link");
	} else if (pin_exists(d + "/map")) {
		UniqueFd map(bpf_obj_get((d + "/map").c_str()));
		uint32_t zero = 0;
		if (map && bpf_map_delete_elem(map.get(), &zero) && errno != ENOENT)
			throw_errno(errno, "cannot unregister congestion control " + algorithm);
	}
	remove_pin(d + "/map");
	remove_pin(d + "/build");
	remove_pin(d);

	wait_until([&] {
		auto names = available_congestion_controls();
		return std::find(names.begin(), names.end(), algorithm) == names.end();
	});
	// Sockets that use the algorithm hold its struct_ops map: it outlives the
	// registration until they close, and keeps serving them.
	bool in_use = !wait_until([&] {
		UniqueFd still(bpf_map_get_fd_by_id(map_id));
		return !still;
	});
	if (in_use)
		return "unregistered congestion control " + algorithm +
		       "; connections that use it keep it until they close (struct_ops map id " +
		       std::to_string(map_id) + ")";
	return "unregistered congestion control " + algorithm;
}

std::optional<uint64_t> CcRegistry::build(const std::string &algorithm) const
{
	return read_build_pin(dir(algorithm) + "/build");
}

bool CcRegistry::has_link(const std::string &algorithm) const
{
	return pin_exists(dir(algorithm) + "/link");
}

void CcRegistry::repin(const std::string &algorithm, const char *name, int fd)
{
	const std::string tmp = pin_dir_ + "/staging/cc-" + algorithm + "-" + name;
	make_pin_dirs(pin_dir_ + "/staging");
	remove_pin(tmp);
	if (bpf_obj_pin(fd, tmp.c_str()))
		throw_errno(errno, "cannot pin " + tmp);
	if (rename(tmp.c_str(), (dir(algorithm) + "/" + name).c_str())) {
		int err = errno;
		remove_pin(tmp);
		throw_errno(err, "cannot move " + tmp + " into " + dir(algorithm));
	}
}

CcRegistry::Swapped CcRegistry::swap(const Plugin &plugin, const std::string &algorithm)
{
	const std::string origin = "plugin " + plugin.manifest.name + " (" + plugin.origin + ")";
	UniqueFd link(bpf_obj_get((dir(algorithm) + "/link").c_str()));
	if (!link)
		throw Error(ErrorKind::unsupported, "congestion control " + algorithm +
							    " is registered the legacy way (kernel < 6.4): it cannot be swapped in place");
	Swapped old;
	old.old_map.reset(bpf_obj_get((dir(algorithm) + "/map").c_str()));
	old.old_build.reset(bpf_obj_get((dir(algorithm) + "/build").c_str()));
	if (!old.old_map)
		throw_errno(errno, "cannot open " + dir(algorithm) + "/map");

	std::vector<uint8_t> image = renamed_object(plugin, algorithm);
	BpfObjectPtr obj = open_bpf_object(image, origin);
	bpf_map *ops = nullptr;
	bpf_map *map = nullptr;
	bpf_object__for_each_map(map, obj.get())
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
			ops = map;
	if (!ops)
		throw Error(ErrorKind::usage, origin + ": no tcp_congestion_ops struct_ops map");
	bpf_map__set_map_flags(ops, bpf_map__map_flags(ops) | kBpfFLink);
	load_bpf_object(obj.get(), origin);
	bpf_link *filled = bpf_map__attach_struct_ops(ops); // fills in the programs only
	if (!filled)
		throw_errno(errno, "cannot prepare congestion control " + algorithm);
	bpf_link__disconnect(filled);
	bpf_link__destroy(filled);

	// One update: the kernel switches the algorithm's ops under its name.
	if (bpf_link_update(link.get(), bpf_map__fd(ops), nullptr))
		throw_errno(errno, "cannot swap congestion control " + algorithm);
	try {
		repin(algorithm, "map", bpf_map__fd(ops));
		UniqueFd build = make_build_map(build_id(plugin));
		repin(algorithm, "build", build.get());
	} catch (...) {
		swap_back(algorithm, old);
		throw;
	}
	return old;
}

void CcRegistry::swap_back(const std::string &algorithm, const Swapped &old)
{
	UniqueFd link(bpf_obj_get((dir(algorithm) + "/link").c_str()));
	if (!link || bpf_link_update(link.get(), old.old_map.get(), nullptr))
		throw_errno(errno, "cannot swap congestion control " + algorithm + " back");
	repin(algorithm, "map", old.old_map.get());
	if (old.old_build)
		repin(algorithm, "build", old.old_build.get());
	else
		remove_pin(dir(algorithm) + "/build");
}

std::vector<Registration> CcRegistry::list() const
{
	std::vector<Registration> registrations;
	for (const auto &name : list_pin_dir(pin_dir_ + "/cc")) {
		Registration reg;
		reg.algorithm = name;
		reg.map_id = pinned_id(dir(name) + "/map", false);
		if (pin_exists(dir(name) + "/link")) {
			reg.link_id = pinned_id(dir(name) + "/link", true);
			reg.mechanism = "struct_ops link";
		} else {
			reg.mechanism = "legacy registration";
		}
		registrations.push_back(reg);
	}
	return registrations;
}

} // namespace tcpxi
