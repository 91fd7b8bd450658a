// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// libtcpxi: attach TCP plugins to cgroups and read what is attached, from the kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tcpxi/cgroup.hpp>
#include <tcpxi/error.hpp>
#include <tcpxi/manifest.hpp>
#include <tcpxi/params.hpp>
#include <tcpxi/plugin.hpp>

namespace tcpxi {

struct Options {
	// Names the pin directory (<bpffs>/<instance>) and prefixes the congestion
	// controls tcpxi registers (<instance>_<plugin>). Tests use their own instance.
	std::string instance = "tcpxi";
	// How long to wait for another tcpxi that is changing the same instance.
	int lock_wait_seconds = 5;
	// libbpf and verifier messages on stderr: 0 none, 1 warnings and info, 2 debug.
	int verbosity = 0;
};

struct CounterValue {
	std::string name;
	uint64_t value = 0;
};

// One plugin attached to one cgroup, as the kernel reports it.
struct Attachment {
	std::string plugin;
	std::string cgroup;  // relative to the cgroup2 mount; empty if the cgroup is gone
	uint64_t cgroup_id = 0;
	uint32_t prog_id = 0;
	uint32_t link_id = 0;
	std::string prog_name;
	bool attached = true; // false: the link exists but the kernel detached it
	std::string note;     // why parameters are not shown, if they are not
	std::vector<std::pair<std::string, std::string>> params; // set ones, formatted
	std::vector<CounterValue> counters;
};

// A congestion control tcpxi registered.
struct Registration {
	std::string algorithm; // the name sockets see
	std::string plugin;
	uint32_t map_id = 0;
	uint32_t link_id = 0; // 0 when registered the legacy way (kernel < 6.4)
	std::string mechanism; // "struct_ops link" or "legacy registration"
	unsigned cgroups = 0;  // cc selectors that name it
};

struct Status {
	std::string pin_dir;
	std::vector<Attachment> attachments;
	std::vector<Registration> congestion_controls;
};

// What a change did, in words for the user (one line each).
struct Report {
	std::vector<std::string> lines;
};

class Tcpxi {
public:
	explicit Tcpxi(Options options = {});

	const Options &options() const { return options_; }
	std::string pin_dir() const;
	// The name the kernel knows a tcpxi congestion-control plugin by.
	std::string algorithm_name(const std::string &plugin) const;

	Report attach(const std::string &cgroup, const std::string &plugin,
		      const std::vector<std::string> &assignments);
	Report detach(const std::string &cgroup, const std::string &plugin);
	Report detach_all(const std::string &cgroup);
	Report set(const std::string &cgroup, const std::string &plugin,
		   const std::vector<std::string> &assignments,
		   const std::vector<std::string> &unset = {});
	Status status(const std::optional<std::string> &cgroup = std::nullopt) const;

private:
	Options options_;
};

} // namespace tcpxi
