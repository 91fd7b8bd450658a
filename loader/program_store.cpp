// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "program_store.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <tcpxi/error.hpp>

#include "bpf_object_loader.hpp"
#include "bpffs.hpp"
#include "build_id.hpp"

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

// Maps named tcpxi_sh_* are shared by every plugin of an instance (for example the
// socket storage in which option plugins record who needs header-option callbacks):
// the first plugin loaded creates and pins them under <pin_dir>/shared, later ones
// reuse the pinned map instead of creating their own.
constexpr const char kSharedPrefix[] = "tcpxi_sh_";

bool is_shared_map(const bpf_map *map)
{
	return !strncmp(bpf_map__name(map), kSharedPrefix, sizeof(kSharedPrefix) - 1);
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
	const std::string shared_dir = pin_dir_ + "/shared";
	bpf_map *map = nullptr;
	bpf_object__for_each_map(map, obj.get()) {
		const std::string pin = shared_dir + "/" + bpf_map__name(map);
		if (!is_shared_map(map) || !pin_exists(pin))
			continue;
		UniqueFd fd = get_pinned(pin);
		// The kernel checks the map's type, key and value against the program at
		// load time; a mismatch (a map pinned by another build) fails there.
		if (int err = bpf_map__reuse_fd(map, fd.get()))
			throw_errno(-err, origin + ": cannot reuse shared map " + pin);
	}
	load_bpf_object(obj.get(), origin);
	bpf_object__for_each_map(map, obj.get()) {
		const std::string pin = shared_dir + "/" + bpf_map__name(map);
		if (!is_shared_map(map) || pin_exists(pin))
			continue;
		make_pin_dirs(shared_dir);
		pin_fd(bpf_map__fd(map), pin);
	}

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
		bpf_object__for_each_map(map, obj.get()) {
			if (!strcmp(bpf_map__name(map), "tcpxi_params"))
				pin_fd(bpf_map__fd(map), tmp + "/params");
			else if (!strcmp(bpf_map__name(map), "tcpxi_counters"))
				pin_fd(bpf_map__fd(map), tmp + "/counters");
		}
		UniqueFd build = make_build_map(build_id(plugin));
		pin_fd(build.get(), tmp + "/build");
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

std::optional<uint64_t> ProgramStore::build(const std::string &plugin) const
{
	return read_build_pin(plugin_dir(plugin) + "/build");
}

ProgramStore::Replacement ProgramStore::load_replacement(const Plugin &plugin, const LoadedProgram &pinned) const
{
	const std::string origin = "plugin " + plugin.manifest.name + " (" + plugin.origin + ")";
	BpfObjectPtr obj = open_bpf_object(plugin.object, origin);
	bpf_program *sockops = nullptr;
	bpf_program *prog = nullptr;
	bpf_object__for_each_program(prog, obj.get()) {
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SOCK_OPS && !sockops)
			sockops = prog;
	}
	if (!sockops)
		throw Error(ErrorKind::usage, origin + ": no SEC(\"sockops\") program");
	bpf_map *map = nullptr;
	bpf_object__for_each_map(map, obj.get()) {
		int fd = -1;
		if (!strcmp(bpf_map__name(map), "tcpxi_params"))
			fd = pinned.params.get();
		else if (!strcmp(bpf_map__name(map), "tcpxi_counters"))
			fd = pinned.counters.get();
		if (fd >= 0 && bpf_map__reuse_fd(map, fd))
			throw_errno(errno, origin + ": cannot reuse the pinned " + bpf_map__name(map) + " map");
	}
	load_bpf_object(obj.get(), origin);
	Replacement replacement;
	// The object closes its fds when it goes: keep our own.
	replacement.prog.reset(fcntl(bpf_program__fd(sockops), F_DUPFD_CLOEXEC, 0));
	if (!replacement.prog)
		throw_errno(errno, "cannot keep the program of " + origin);
	replacement.prog_id = prog_id_of(replacement.prog.get());
	replacement.build = make_build_map(build_id(plugin));
	return replacement;
}

void ProgramStore::repin(const std::string &plugin, int prog_fd, int build_fd)
{
	// rename() over an existing pin replaces it in one step: the plugin always has one.
	make_pin_dirs(pin_dir_ + "/staging");
	const std::pair<const char *, int> pins[] = {{"prog", prog_fd}, {"build", build_fd}};
	for (const auto &[name, fd] : pins) {
		if (fd < 0)
			continue;
		const std::string tmp = pin_dir_ + "/staging/" + plugin + "-" + name;
		remove_pin(tmp);
		pin_fd(fd, tmp);
		if (rename(tmp.c_str(), (plugin_dir(plugin) + "/" + name).c_str())) {
			int err = errno;
			remove_pin(tmp);
			throw_errno(err, "cannot move " + tmp + " into " + plugin_dir(plugin));
		}
	}
}

void ProgramStore::unload(const std::string &plugin)
{
	const std::string dir = plugin_dir(plugin);
	for (const auto &entry : list_pin_dir(dir))
		remove_pin(dir + "/" + entry);
	remove_pin(dir);
	// Shared maps live as long as a plugin that may use them is loaded.
	if (list_pin_dir(pin_dir_ + "/plugins").empty()) {
		const std::string shared_dir = pin_dir_ + "/shared";
		for (const auto &entry : list_pin_dir(shared_dir))
			remove_pin(shared_dir + "/" + entry);
		remove_pin(shared_dir);
	}
}

} // namespace tcpxi
