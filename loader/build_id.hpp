// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Which tcpxi build loaded a pinned plugin: a hash of the embedded object, kept in a
// one-element BPF array pinned beside the program ("build"; bpffs names have no '.').
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <tcpxi/plugin.hpp>
#include <tcpxi/unique_fd.hpp>

namespace tcpxi {

// FNV-1a over the object; TCPXI_TEST_BUILD_SALT (tests only) makes it another build.
uint64_t build_id(const Plugin &plugin);

// A new array map "tcpxi_build" holding the id, ready to pin.
UniqueFd make_build_map(uint64_t id);

// The id in a pinned build map; nullopt if there is none (an older tcpxi build).
std::optional<uint64_t> read_build_pin(const std::string &path);

} // namespace tcpxi
