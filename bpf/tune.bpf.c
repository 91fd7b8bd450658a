// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tune: per-cgroup TCP settings, applied once per connection.
 *
 * Everything here runs on callbacks the kernel makes for every connection anyway
 * (no bpf_sock_ops_cb_flags_set): the SYN timeout and receive-window queries, the
 * ECN query, connect(), and the two "established" events. No per-packet cost. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <tcpxi/plugin.h>
#include <tcpxi/sockopt.h>

TCPXI_PLUGIN("tune", TCPXI_KIND_SOCKOPS, "1.0.0",
	     "Per-cgroup TCP settings: windows, timers, keepalive, pacing, ECN, DSCP");

#define TUNE_PARAMS(P)                                                                      \
	P(init_cwnd, u32, 1, 1024, "segments", "Initial congestion window")                \
	P(init_rwnd, u32, 1, 65535, "segments", "Initial receive window advertised in the SYN") \
	P(syn_rto_ms, u32, 1, 120000, "ms", "Retransmission timeout of the SYN and SYN-ACK") \
	P(rto_min_ms, u32, 10, 200, "ms", "Minimum retransmission timeout")               \
	P(delack_max_ms, u32, 10, 200, "ms", "Maximum delayed-ACK time")                   \
	P(cwnd_clamp, u32, 1, 1048576, "segments", "Upper bound of the congestion window") \
	P(nodelay, bool, 0, 1, "", "TCP_NODELAY: send small segments at once")             \
	P(keepalive, bool, 0, 1, "", "SO_KEEPALIVE: probe idle connections")               \
	P(keepalive_idle_s, u32, 1, 32767, "s", "Idle time before the first keepalive probe") \
	P(keepalive_intvl_s, u32, 1, 32767, "s", "Time between keepalive probes")         \
	P(keepalive_cnt, u32, 1, 127, "probes", "Unanswered probes before the connection drops") \
	P(user_timeout_ms, u32, 1, 2147483647, "ms", "TCP_USER_TIMEOUT: how long sent data may stay unacknowledged") \
	P(max_pacing_rate, u32, 1, 4294967294, "bytes/s", "SO_MAX_PACING_RATE: upper bound of the pacing rate") \
	P(ecn, bool, 0, 1, "", "Ask for ECN on connections this cgroup opens and accepts") \
	P(notsent_lowat, u32, 1, 2147483647, "bytes", "TCP_NOTSENT_LOWAT: unsent data that makes the socket writable") \
	P(dscp, u32, 0, 63, "", "DSCP code point of outgoing packets")
TCPXI_PARAMS(TUNE_PARAMS)

#define TUNE_COUNTERS(C)                                                                    \
	C(conns_tuned, "Connections the settings were applied to")                         \
	C(setsockopt_errors, "Settings the kernel refused (see the parameter ranges)")     \
	C(syn_rto_set, "SYN timeouts chosen")                                              \
	C(rwnd_set, "Initial receive windows chosen")                                      \
	C(ecn_requested, "ECN queries answered with on (SYNs, SYN-ACKs and their retransmissions)")
TCPXI_COUNTERS(TUNE_COUNTERS)

/* The loader passes the running kernel's HZ: the SYN timeout reply is in jiffies. */
extern unsigned int CONFIG_HZ __kconfig __weak;

static __always_inline void set_int(struct bpf_sock_ops *skops, int level, int optname,
				    int value)
{
	if (tcpxi_setsockopt_int(skops, level, optname, value))
		tcpxi_count(setsockopt_errors);
}

/* Options that may be set on a socket before its first segment (and after). */
#define want(name) (todo & tcpxi_param_bit(name))

/* Bits of the socket-option parameters (everything but the window/timeout replies). */
#define SOCKET_OPTIONS                                                                      \
	(tcpxi_param_bit(dscp) | tcpxi_param_bit(rto_min_ms) | tcpxi_param_bit(delack_max_ms) | \
	 tcpxi_param_bit(cwnd_clamp) | tcpxi_param_bit(nodelay) | tcpxi_param_bit(keepalive) |  \
	 tcpxi_param_bit(keepalive_idle_s) | tcpxi_param_bit(keepalive_intvl_s) |               \
	 tcpxi_param_bit(keepalive_cnt) | tcpxi_param_bit(user_timeout_ms) |                    \
	 tcpxi_param_bit(max_pacing_rate) | tcpxi_param_bit(notsent_lowat))

static __always_inline void apply_socket_options(struct bpf_sock_ops *skops,
						 const struct tcpxi_params *p)
{
	__u64 todo = tcpxi_params_todo(skops, p->set, p->set & SOCKET_OPTIONS);

	if (!todo)
		return;
	if (want(dscp)) {
		if (skops->family == AF_INET6)
			set_int(skops, TCPXI_SOL_IPV6, TCPXI_IPV6_TCLASS, p->dscp << 2);
		else
			set_int(skops, TCPXI_SOL_IP, TCPXI_IP_TOS, p->dscp << 2);
	}
	if (want(rto_min_ms))
		set_int(skops, TCPXI_SOL_TCP, TCP_BPF_RTO_MIN, p->rto_min_ms * 1000);
	if (want(delack_max_ms))
		set_int(skops, TCPXI_SOL_TCP, TCP_BPF_DELACK_MAX, p->delack_max_ms * 1000);
	if (want(cwnd_clamp))
		set_int(skops, TCPXI_SOL_TCP, TCP_BPF_SNDCWND_CLAMP, p->cwnd_clamp);
	if (want(nodelay))
		set_int(skops, TCPXI_SOL_TCP, TCPXI_TCP_NODELAY, p->nodelay);
	if (want(keepalive))
		set_int(skops, TCPXI_SOL_SOCKET, TCPXI_SO_KEEPALIVE, p->keepalive);
	if (want(keepalive_idle_s))
		set_int(skops, TCPXI_SOL_TCP, TCPXI_TCP_KEEPIDLE, p->keepalive_idle_s);
	if (want(keepalive_intvl_s))
		set_int(skops, TCPXI_SOL_TCP, TCPXI_TCP_KEEPINTVL, p->keepalive_intvl_s);
	if (want(keepalive_cnt))
		set_int(skops, TCPXI_SOL_TCP, TCPXI_TCP_KEEPCNT, p->keepalive_cnt);
	if (want(user_timeout_ms))
		set_int(skops, TCPXI_SOL_TCP, TCPXI_TCP_USER_TIMEOUT, p->user_timeout_ms);
	if (want(max_pacing_rate))
		set_int(skops, TCPXI_SOL_SOCKET, TCPXI_SO_MAX_PACING_RATE, p->max_pacing_rate);
	if (want(notsent_lowat))
		set_int(skops, TCPXI_SOL_TCP, TCPXI_TCP_NOTSENT_LOWAT, p->notsent_lowat);
	tcpxi_count(conns_tuned);
}

/* TCP_BPF_IW is accepted only before the connection has sent data. */
static __always_inline void apply_initial_cwnd(struct bpf_sock_ops *skops,
					       const struct tcpxi_params *p)
{
	if (tcpxi_params_todo(skops, p->set, p->set & tcpxi_param_bit(init_cwnd)))
		set_int(skops, TCPXI_SOL_TCP, TCP_BPF_IW, p->init_cwnd);
}

SEC("sockops")
int tcpxi_tune(struct bpf_sock_ops *skops)
{
	const struct tcpxi_params *p = tcpxi_params_get();

	if (!p->set)
		return 1;

	switch (skops->op) {
	case BPF_SOCK_OPS_TIMEOUT_INIT:
		/* A reply already written came from a more specific cgroup's program. */
		if (tcpxi_param_set(p, syn_rto_ms) && CONFIG_HZ && !skops->reply) {
			__u64 jiffies = (__u64)p->syn_rto_ms * CONFIG_HZ / 1000;

			skops->reply = jiffies ? jiffies : 1;
			tcpxi_count(syn_rto_set);
		}
		break;
	case BPF_SOCK_OPS_RWND_INIT:
		if (tcpxi_param_set(p, init_rwnd) && !skops->reply) {
			skops->reply = p->init_rwnd;
			tcpxi_count(rwnd_set);
		}
		break;
	case BPF_SOCK_OPS_NEEDS_ECN:
		if (tcpxi_param_set(p, ecn) && !skops->reply) {
			skops->reply = p->ecn;
			if (p->ecn)
				tcpxi_count(ecn_requested);
		}
		break;
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		apply_socket_options(skops, p);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		apply_initial_cwnd(skops, p);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		apply_socket_options(skops, p);
		apply_initial_cwnd(skops, p);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
