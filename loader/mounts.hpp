// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <optional>
#include <string>

namespace tcpxi {

// Where the first file system of `type` ("cgroup2", "bpf") is mounted, from
// /proc/mounts; nullopt when none is.
std::optional<std::string> find_mount(const std::string &type);

} // namespace tcpxi
