// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <string>
#include <vector>

#include <tcpxi/unique_fd.hpp>

namespace tcpxi {

// The bpffs mount point; mounts bpffs at /sys/fs/bpf when none is mounted.
// Throws Error naming the fix when it cannot.
std::string bpffs_mount();

// mkdir -p inside bpffs.
void make_pin_dirs(const std::string &path);

// Names in a bpffs directory (not . and ..); empty if it does not exist.
std::vector<std::string> list_pin_dir(const std::string &path);

bool pin_exists(const std::string &path);

// Removes a pin or an empty directory; a missing one is not an error.
void remove_pin(const std::string &path);

// Holds an exclusive flock on the instance's pin directory while tcpxi changes it,
// so that two tcpxi commands never interleave their changes.
class InstanceLock {
public:
	InstanceLock(const std::string &pin_dir, int wait_seconds);

private:
	UniqueFd dir_;
};

} // namespace tcpxi
