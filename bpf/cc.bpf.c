// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cc: gives a cgroup's connections a congestion control, the kernel's or tcpxi's.
 *
 * Congestion controls are global in Linux; this selector makes the choice per cgroup.
 * It sets the algorithm on listeners (so accepted connections inherit it, ECN
 * negotiation included), before an active open sends its SYN, and once more when a
 * passive connection is established, so a change reaches listeners created before it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <tcpxi/plugin.h>
#include <tcpxi/sockopt.h>

TCPXI_PLUGIN("cc", TCPXI_KIND_SOCKOPS, "1.0.0",
	     "Selects the congestion control of a cgroup's connections");

#define CC_PARAMS(P)                                                                        \
	P(algorithm, str, 1, 15, "", "Congestion control name (tcp_available_congestion_control, or a tcpxi one)")
TCPXI_PARAMS(CC_PARAMS)

#define CC_COUNTERS(C)                                                                      \
	C(selected, "Sockets given the algorithm")                                         \
	C(select_errors, "Sockets the kernel refused the algorithm for")
TCPXI_COUNTERS(CC_COUNTERS)

SEC("sockops")
int tcpxi_cc(struct bpf_sock_ops *skops)
{
	const struct tcpxi_params *p = tcpxi_params_get();
	char name[TCPXI_STR_MAX];

	if (!tcpxi_param_set(p, algorithm))
		return 1;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		/* A more specific cgroup's selector chose already. */
		if (!tcpxi_params_todo(skops, p->set, tcpxi_param_bit(algorithm)))
			break;
		__builtin_memcpy(name, p->algorithm, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		if (bpf_setsockopt(skops, TCPXI_SOL_TCP, TCPXI_TCP_CONGESTION, name, sizeof(name)))
			tcpxi_count(select_errors);
		else
			tcpxi_count(selected);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
