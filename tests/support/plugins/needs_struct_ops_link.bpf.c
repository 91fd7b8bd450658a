// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/* A test plugin (not built in: it lives in tests/) whose manifest requires a kernel
 * feature of 6.4 and later. On older kernels tcpxi must refuse it, naming the feature
 * and the minimum kernel. The program itself would load anywhere. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <tcpxi/plugin.h>

TCPXI_PLUGIN("needslink", TCPXI_KIND_SOCKOPS, "1.0.0", "Test plugin that requires struct_ops links");
TCPXI_REQUIRES("struct_ops_link");

SEC("sockops")
int tcpxi_needslink(struct bpf_sock_ops *skops)
{
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
