// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <linux/bpf.h>

namespace tcpxi {

// Kernel ABI values newer than the build host's <linux/bpf.h> (Debian 12 ships 6.1
// headers). They are stable ABI: the kernel that runs tcpxi decides whether it knows
// them, and tcpxi probes for that instead of trusting the headers.
inline constexpr unsigned kBpfFLink = 1U << 13;                              // BPF_F_LINK, 6.4
inline constexpr auto kBpfStructOpsAttach = static_cast<bpf_attach_type>(44); // BPF_STRUCT_OPS, 6.4

} // namespace tcpxi
