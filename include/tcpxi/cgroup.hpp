// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include <tcpxi/unique_fd.hpp>

namespace tcpxi {

// A cgroup v2 directory, resolved and opened.
struct Cgroup {
	std::string path;     // absolute, e.g. /sys/fs/cgroup/unified/demo
	std::string relative; // relative to the cgroup2 mount, "/" for the root
	uint64_t id = 0;      // the kernel's cgroup id (the directory's inode)
	UniqueFd fd;          // O_RDONLY|O_DIRECTORY
};

// The cgroup2 mount point, read from /proc/mounts. Throws when there is none.
std::string cgroup2_mount();

// Accepts a path relative to the cgroup2 mount, an absolute path, or a cgroup id.
// Throws Error(usage) naming the input for a missing cgroup or a cgroup v1 path.
Cgroup resolve_cgroup(const std::string &spec);

// cgroup id -> path relative to the mount, for every cgroup under the mount.
std::unordered_map<uint64_t, std::string> cgroup_paths_by_id();

} // namespace tcpxi
