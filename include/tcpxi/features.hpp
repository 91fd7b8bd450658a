// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// What the running kernel offers tcpxi, probed the way `bpftool feature probe` does:
// by loading tiny programs and creating maps, never by reading the version number.
#pragma once

#include <string>
#include <vector>

#include <tcpxi/manifest.hpp>

namespace tcpxi {

// One kernel feature. `id` is stable: plugin manifests name it in TCPXI_REQUIRES(),
// scripts read it from `tcpxi features --json`.
struct Feature {
	std::string id;          // snake_case, e.g. "struct_ops_link"
	std::string description; // one line, what it is
	std::string min_kernel;  // first mainline kernel that has it, e.g. "6.4"
	bool available = false;  // what the probe found on this kernel
	std::string note;        // why not, when the probe says more than "no"
};

// How tcpxi does a job on this kernel, given its features.
struct Mechanism {
	std::string id;    // "congestion_control_registration", ...
	std::string what;  // "congestion controls"
	std::string how;   // "struct_ops link", "legacy registration", "unsupported: ..."
};

struct KernelFeatures {
	std::string kernel_release; // uname -r
	std::vector<Feature> features;
	std::vector<Mechanism> mechanisms;

	// nullptr for an id this tcpxi does not know.
	const Feature *find(const std::string &id) const;
	bool has(const std::string &id) const;
};

// Every feature id this tcpxi knows, in report order, with its description and
// minimum kernel (nothing probed: `available` is false).
const std::vector<Feature> &known_features();

// Probes the running kernel now. Needs root (CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN):
// throws Error(permission) otherwise. Creates, and removes again, a short-lived
// cgroup under the cgroup2 mount for the probes that need a cgroup and a connection.
KernelFeatures probe_kernel_features();

// The probe of this process, made on first use and kept: a kernel's features do not
// change while it runs.
const KernelFeatures &kernel_features();

// Refuses a plugin whose manifest names a feature (TCPXI_REQUIRES) this kernel lacks:
// throws Error(unsupported) "plugin X needs <feature> (kernel >= N), which this kernel
// (<uname -r>) lacks". A feature id this tcpxi does not know is refused the same way.
void check_plugin_requirements(const Manifest &manifest, const KernelFeatures &features);
// The same against kernel_features().
void check_plugin_requirements(const Manifest &manifest);

} // namespace tcpxi
