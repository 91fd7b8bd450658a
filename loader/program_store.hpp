// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <tcpxi/plugin.hpp>
#include <tcpxi/unique_fd.hpp>

#include "storage.hpp"

namespace tcpxi {

// A sock_ops plugin loaded in the kernel: one program and its storage maps, shared by
// every cgroup it is attached to.
struct LoadedProgram {
	UniqueFd prog;
	UniqueFd params;   // cgroup storage of parameters, may be empty
	UniqueFd counters; // per-CPU cgroup storage of counters, may be empty
	StorageLayout params_layout;
	StorageLayout counters_layout;
	uint32_t prog_id = 0;
};

// Pins loaded plugins under <pin_dir>/plugins/<name>/{prog,params,counters}, so that
// the next command reuses the program instead of loading another copy.
class ProgramStore {
public:
	explicit ProgramStore(std::string pin_dir) : pin_dir_(std::move(pin_dir)) {}

	bool is_loaded(const std::string &plugin) const;
	// From the pins; throws if the plugin is not loaded.
	LoadedProgram open(const std::string &plugin) const;
	// Loads and pins; the pins appear together (the directory is renamed into place).
	LoadedProgram load(const Plugin &plugin);
	void unload(const std::string &plugin);

	// The build that loaded the pinned plugin (see build_id.hpp); nullopt: unknown.
	std::optional<uint64_t> build(const std::string &plugin) const;
	// Loads this build's program reusing the pinned parameter and counter maps, so
	// that links can be switched to it in place (bpf_link_update) keeping their
	// values. Nothing is pinned yet; the program is in `prog`, its build map in
	// `build`.
	struct Replacement {
		UniqueFd prog;
		UniqueFd build;
		uint32_t prog_id = 0;
	};
	Replacement load_replacement(const Plugin &plugin, const LoadedProgram &pinned) const;
	// Points the plugin's prog and build pins at these objects (each one rename).
	void repin(const std::string &plugin, int prog_fd, int build_fd);

	std::string plugin_dir(const std::string &plugin) const;

private:
	std::string pin_dir_;
};

} // namespace tcpxi
