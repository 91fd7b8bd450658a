// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tcpxi/plugin.hpp>
#include <tcpxi/tcpxi.hpp>
#include <tcpxi/unique_fd.hpp>

namespace tcpxi {

// The congestion controls this instance registered, pinned under
// <pin_dir>/cc/<algorithm>/{map,link}. A struct_ops link (kernel 6.4+) is the
// registration where the kernel has it; older kernels get the legacy map update.
class CcRegistry {
public:
	explicit CcRegistry(std::string pin_dir) : pin_dir_(std::move(pin_dir)) {}

	bool is_registered(const std::string &algorithm) const;
	// Registers the plugin's tcp_congestion_ops under `algorithm`.
	void register_algorithm(const Plugin &plugin, const std::string &algorithm);
	// Unregisters; returns what happened to sockets that still use it.
	std::string unregister_algorithm(const std::string &algorithm);
	std::vector<Registration> list() const;

	// The build that registered it (see build_id.hpp); nullopt: unknown.
	std::optional<uint64_t> build(const std::string &algorithm) const;
	bool has_link(const std::string &algorithm) const;
	// Swaps a struct_ops link (kernel 6.4+) to this build's tcp_congestion_ops in one
	// bpf_link_update: every new connection gets the old or the new, never none.
	// Returns the replaced map and build pins' objects, for swap_back().
	struct Swapped {
		UniqueFd old_map;
		UniqueFd old_build;
	};
	Swapped swap(const Plugin &plugin, const std::string &algorithm);
	void swap_back(const std::string &algorithm, const Swapped &old);

private:
	void repin(const std::string &algorithm, const char *name, int fd);
	std::string dir(const std::string &algorithm) const { return pin_dir_ + "/cc/" + algorithm; }
	std::string pin_dir_;
};

// Names in /proc/sys/net/ipv4/tcp_available_congestion_control.
std::vector<std::string> available_congestion_controls();

// The built-in congestion-control plugin that `tcpxi` registers as `algorithm`, if any.
const Plugin *own_algorithm(const Tcpxi &tcpxi, const std::string &algorithm);

// Throws Error(usage) "<where>unknown congestion control ..." listing what a selector
// may name, unless `algorithm` is available or one of tcpxi's own.
void check_algorithm(const Tcpxi &tcpxi, const std::string &algorithm, const std::string &where = "");

} // namespace tcpxi
