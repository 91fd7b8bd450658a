// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* uto: the TCP User Timeout Option, RFC 5482.
 *
 * Each end advertises how long it lets sent data stay unacknowledged (LOCAL_UTO) on its
 * SYN or SYN-ACK, and reads the peer's (REMOTE_UTO). When both ends sent one, each sets
 *   TCP_USER_TIMEOUT = min(U_LIMIT, max(LOCAL_UTO, REMOTE_UTO, L_LIMIT))
 * so the peer can lengthen the timeout up to U_LIMIT and shorten it down to L_LIMIT, no
 * further. Without U_LIMIT the peer cannot lengthen it beyond LOCAL_UTO.
 *
 * Option: kind 28, length 4, then 1 bit granularity (1 = minutes) and 15 bits of timeout.
 * Sent on the SYN and SYN-ACK only, unless every_segment is on (RFC 5482 allows the option
 * on any segment; this plugin reads it on the handshake only). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <tcpxi/plugin.h>
#include <tcpxi/sockopt.h>
#include <tcpxi/options.h>

TCPXI_PLUGIN("uto", TCPXI_KIND_SOCKOPS, "1.0.0",
	     "TCP User Timeout Option (RFC 5482): advertise and negotiate the user timeout");

/* 32767 minutes, the largest timeout the option can carry. */
#define UTO_MAX_S 1966020
#define UTO_LEN 4
#define UTO_MINUTES 0x8000

#define UTO_PARAMS(P)                                                                           \
	P(timeout_s, u32, 1, 1966020, "s", "LOCAL_UTO: the user timeout this end advertises and wants") \
	P(min_s, u32, 1, 1966020, "s", "L_LIMIT: the peer cannot shorten the timeout below this")   \
	P(max_s, u32, 1, 1966020, "s", "U_LIMIT: the peer cannot lengthen the timeout beyond this (default LOCAL_UTO)") \
	P(every_segment, bool, 0, 1, "", "Advertise on every segment, not only on the SYN and SYN-ACK")
TCPXI_PARAMS(UTO_PARAMS)

#define UTO_COUNTERS(C)                                                                         \
	TCPXI_OPT_COUNTERS(C)                                                                  \
	C(applied, "Connections given the negotiated user timeout")                            \
	C(setsockopt_errors, "User timeouts the kernel refused")
TCPXI_COUNTERS(UTO_COUNTERS)

struct uto_conn {
	__u8 offered;    /* our SYN carried the option */
	__u8 negotiated; /* both ends sent one: every_segment may write it on data */
};
TCPXI_CONN_STATE(struct uto_conn)

static __always_inline __u16 uto_encode(__u32 seconds)
{
	if (seconds <= 0x7fff)
		return seconds;
	return UTO_MINUTES | ((seconds + 59) / 60);
}

/* True when the option went out. */
static __always_inline int uto_store(struct bpf_sock_ops *skops, const struct tcpxi_params *p)
{
	__u16 v = uto_encode(p->timeout_s);
	__u8 opt[UTO_LEN] = {TCPXI_OPT_UTO, UTO_LEN, v >> 8, v & 0xff};
	/* -ENOSPC: the reservation failed and was counted; -EEXIST: a program of a more
	 * specific cgroup wrote the option. */
	if (tcpxi_opt_store(skops, opt, sizeof(opt)))
		return 0;
	tcpxi_count(sent);
	return 1;
}

/* The peer's timeout in seconds, 0 if its handshake segment carried no usable option. */
static __always_inline __u32 uto_remote(const struct tcpxi_tcphdr *h)
{
	__u8 opt[UTO_LEN];
	__u16 v;

	if (!tcpxi_opt_count_found(tcpxi_opt_find(h, TCPXI_OPT_UTO, 0, UTO_LEN, opt)))
		return 0;
	v = (opt[2] << 8) | opt[3];
	if (v & UTO_MINUTES)
		return (__u32)(v & 0x7fff) * 60;
	return v;
}

/* True when the SYN this SYN-ACK answers carried a UTO: answer tcpxi peers only. */
static __always_inline int uto_syn_offered(struct bpf_sock_ops *skops)
{
	struct tcpxi_tcphdr h;
	__u8 opt[UTO_LEN];

	if (tcpxi_hdr_load_syn(skops, &h))
		return 0;
	return tcpxi_opt_find(&h, TCPXI_OPT_UTO, 0, UTO_LEN, opt) == TCPXI_OPT_FOUND;
}

/* Returns whether the peer sent a usable timeout. */
static __always_inline int uto_apply(struct bpf_sock_ops *skops, const struct tcpxi_params *p,
				     __u32 remote)
{
	__u32 lower = tcpxi_param_set(p, min_s) ? p->min_s : 0;
	__u32 upper = tcpxi_param_set(p, max_s) ? p->max_s : p->timeout_s;
	__u32 t = p->timeout_s;

	if (!remote)
		return 0;
	if (remote > upper || remote < lower)
		tcpxi_count(clamped);
	if (remote > t)
		t = remote;
	if (lower > t)
		t = lower;
	if (t > upper)
		t = upper;
	if (t > UTO_MAX_S)
		t = UTO_MAX_S;
	if (tcpxi_setsockopt_int(skops, TCPXI_SOL_TCP, TCPXI_TCP_USER_TIMEOUT, t * 1000))
		tcpxi_count(setsockopt_errors);
	else
		tcpxi_count(applied);
	return 1;
}

/* HDR_OPT_LEN_CB and WRITE_HDR_OPT_CB: whether this segment carries our option. */
static __always_inline int uto_wanted(struct bpf_sock_ops *skops, const struct tcpxi_params *p)
{
	if (tcpxi_hdr_is_syn(skops))
		return 1;
	if (tcpxi_hdr_is_synack(skops)) {
		if (!uto_syn_offered(skops))
			return 0;
		if (tcpxi_hdr_is_cookie(skops)) {
			if (skops->op == BPF_SOCK_OPS_HDR_OPT_LEN_CB)
				tcpxi_count(cookie_skipped);
			return 0;
		}
		return 1;
	}
	/* A data segment or an MSS probe: the handshake is over for this socket. */
	if (p->every_segment) {
		struct uto_conn *c = tcpxi_conn_get(skops, 0);

		if (c && c->negotiated)
			return 1;
	}
	if (tcpxi_hdr_handshake_over(skops))
		tcpxi_hdr_cb_release(skops, TCPXI_EXT_UTO);
	return 0;
}

/* After the handshake: keep the callbacks only to write on data segments, if negotiated. */
static __always_inline void uto_established(struct bpf_sock_ops *skops,
					    const struct tcpxi_params *p, struct uto_conn *c,
					    int negotiated)
{
	if (c)
		c->negotiated = negotiated;
	if (!p->every_segment || !negotiated || !c)
		tcpxi_hdr_cb_release(skops, TCPXI_EXT_UTO);
}

SEC("sockops")
int tcpxi_uto(struct bpf_sock_ops *skops)
{
	const struct tcpxi_params *p = tcpxi_params_get();
	struct tcpxi_tcphdr h;
	struct uto_conn *c;
	int negotiated;

	if (!tcpxi_param_set(p, timeout_s))
		return 1;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		c = tcpxi_conn_get(skops, 1);
		if (c && !tcpxi_hdr_cb_hold(skops, TCPXI_EXT_UTO))
			c->offered = 0;
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		/* The SYN-ACKs of this listener answer; its connections read the saved SYN. */
		if (tcpxi_hdr_cb_hold(skops, TCPXI_EXT_UTO) || tcpxi_save_syn(skops))
			tcpxi_count(setsockopt_errors);
		break;
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
		if (uto_wanted(skops, p) && tcpxi_opt_reserve(skops, UTO_LEN))
			tcpxi_count(no_room);
		break;
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		if (!uto_wanted(skops, p) || !uto_store(skops, p))
			break;
		if (tcpxi_hdr_is_syn(skops)) {
			c = tcpxi_conn_get(skops, 0);
			if (c)
				c->offered = 1;
		}
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		c = tcpxi_conn_get(skops, 0);
		if (!c)
			break;
		/* A UTO in a SYN-ACK to a SYN without one is not an answer. */
		uto_established(skops, p, c,
				c->offered && !tcpxi_hdr_load_skb(skops, &h) &&
					uto_apply(skops, p, uto_remote(&h)));
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		/* Under SYN cookies the SYN is not saved: nothing was answered, nothing applies. */
		negotiated = !tcpxi_hdr_load_syn(skops, &h) && uto_apply(skops, p, uto_remote(&h));
		c = tcpxi_conn_get(skops, negotiated && p->every_segment);
		/* A Fast Open child is established before its SYN-ACK is sent, and that
		 * SYN-ACK needs the flag; its first data segment releases it. */
		if (skops->state == BPF_TCP_SYN_RECV) {
			if (c)
				c->negotiated = negotiated;
			break;
		}
		uto_established(skops, p, c, negotiated);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
