// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace tcpxi {

// A BPF object compiled from bpf/<name>.bpf.c and embedded by the build.
struct EmbeddedObject {
	std::string_view name;
	std::span<const uint8_t> bytes;
};

// Defined in the generated embedded_objects.cpp.
std::span<const EmbeddedObject> embedded_objects();

} // namespace tcpxi
