// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <bpf/libbpf.h>

#include <memory>
#include <span>
#include <string>

namespace tcpxi {

struct BpfObjectDeleter {
	void operator()(bpf_object *obj) const { bpf_object__close(obj); }
};
using BpfObjectPtr = std::unique_ptr<bpf_object, BpfObjectDeleter>;

// Opens an object from memory with the kernel facts tcpxi plugins may read as
// __kconfig externs (CONFIG_HZ). Throws Error naming `origin`.
BpfObjectPtr open_bpf_object(std::span<const uint8_t> image, const std::string &origin);

// Loads it into the kernel; a verifier rejection becomes one line that names the plugin
// and points at -v for the verifier's log.
void load_bpf_object(bpf_object *obj, const std::string &origin);

} // namespace tcpxi
