// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <string>
#include <vector>

#include <tcpxi/plugin.hpp>
#include <tcpxi/tcpxi.hpp>

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

private:
	std::string dir(const std::string &algorithm) const { return pin_dir_ + "/cc/" + algorithm; }
	std::string pin_dir_;
};

// Names in /proc/sys/net/ipv4/tcp_available_congestion_control.
std::vector<std::string> available_congestion_controls();

} // namespace tcpxi
