// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "program_store.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <tcpxi/error.hpp>

#include "bpf_object_loader.hpp"
#include "bpffs.hpp"

namespace tcpxi {

namespace {

void pin_fd(int fd, const std::string &path)
{
	if (bpf_obj_pin(fd, path.c_str()))
		throw_errno(errno, "cannot pin " + path);
}

UniqueFd get_pinned(const std::string &path)
{
	int fd = bpf_obj_get(path.c_str());
	if (fd < 0)
		throw_errno(errno, "cannot open pin " + path, "run `tcpxi status`; remove stale pins with `tcpxi detach`");
	return UniqueFd(fd);
}

uint32_t prog_id_of(int prog_fd)
{
	bpf_prog_info info {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		throw_errno(errno, "cannot read program info");
	return info.id;
}

} // namespace

std::string ProgramStore::plugin_dir(const std::string &plugin) const
{
	return pin_dir_ + "/plugins/" + plugin;
}

bool ProgramStore::is_loaded(const std::string &plugin) const
{
	return pin_exists(plugin_dir(plugin) + "/prog");
}

LoadedProgram ProgramStore::open(const std::string &plugin) const
{
	const std::string dir = plugin_dir(plugin);
	LoadedProgram loaded;
	loaded.prog = get_pinned(dir + "/prog");
	loaded.prog_id = prog_id_of(loaded.prog.get());
	if (pin_exists(dir + "/params")) {
		loaded.params = get_pinned(dir + "/params");
		loaded.params_layout = storage_layout(loaded.params.get());
	}
	if (pin_exists(dir + "/counters")) {
		loaded.counters = get_pinned(dir + "/counters");
		loaded.counters_layout = storage_layout(loaded.counters.get());
	}
	return loaded;
}

LoadedProgram ProgramStore::load(const Plugin &plugin)
{
	const std::string &name = plugin.manifest.name;
	const std::string origin = "plugin " + name + " (" + plugin.origin + ")";
	BpfObjectPtr obj = open_bpf_object(plugin.object, origin);

	bpf_program *sockops = nullptr;
	bpf_program *prog = nullptr;
	bpf_object__for_each_program(prog, obj.get()) {
		if (bpf_program__type(prog) != BPF_PROG_TYPE_SOCK_OPS)
			throw Error(ErrorKind::usage, origin + ": program " + bpf_program__name(prog) +
							      " is not a sock_ops program; tcpxi attaches sock_ops programs");
		if (sockops)
			throw Error(ErrorKind::usage, origin + ": more than one sock_ops program; a plugin has one");
		sockops = prog;
	}
	if (!sockops)
		throw Error(ErrorKind::usage, origin + ": no SEC(\"sockops\") program");
	load_bpf_object(obj.get(), origin);

	// Pin into a staging directory first, then rename it into place: a reader sees the
	// plugin either whole or not at all, and a crash leaves only staging to sweep.
	// (bpffs reserves '.' in names, so no "name.tmp".)
	const std::string dir = plugin_dir(name);
	const std::string tmp = pin_dir_ + "/staging/" + name;
	make_pin_dirs(pin_dir_ + "/plugins");
	make_pin_dirs(pin_dir_ + "/staging");
	for (const auto &entry : list_pin_dir(tmp))
		remove_pin(tmp + "/" + entry);
	remove_pin(tmp);
	make_pin_dirs(tmp);
	try {
		pin_fd(bpf_program__fd(sockops), tmp + "/prog");
		bpf_map *map = nullptr;
		bpf_object__for_each_map(map, obj.get()) {
			if (!strcmp(bpf_map__name(map), "tcpxi_params"))
				pin_fd(bpf_map__fd(map), tmp + "/params");
			else if (!strcmp(bpf_map__name(map), "tcpxi_counters"))
				pin_fd(bpf_map__fd(map), tmp + "/counters");
		}
		if (rename(tmp.c_str(), dir.c_str()))
			throw_errno(errno, "cannot move " + tmp + " to " + dir);
	} catch (...) {
		for (const auto &entry : list_pin_dir(tmp))
			remove_pin(tmp + "/" + entry);
		remove_pin(tmp);
		throw;
	}
	return open(name);
}

void ProgramStore::unload(const std::string &plugin)
{
	const std::string dir = plugin_dir(plugin);
	for (const auto &entry : list_pin_dir(dir))
		remove_pin(dir + "/" + entry);
	remove_pin(dir);
}

} // namespace tcpxi
