// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* delack: ask the peer to bound its delayed-ACK timer.
 *
 * A sender that wants prompt ACKs (a small congestion window, an interactive protocol)
 * asks for a bound on the peer's delayed-ACK time, after the IETF ACK-rate-request work.
 * The peer honours the request only if it runs delack with floor_ms set, and never below
 * that floor: more ACKs cost the peer CPU and the path bandwidth. Requests work both
 * ways: the SYN carries the client's request, the SYN-ACK the server's grant and its
 * own request.
 *
 * Option (RFC 6994, kind 253, ExID 0x7864), 6 bytes:
 *   253 | 6 | 0x78 | 0x64 | request_ms | grant_ms
 * request_ms: the bound this end asks for (0: asks nothing, honours only).
 * grant_ms (SYN-ACK): the bound the server applies to its ACKs, 0 if it does not. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <tcpxi/plugin.h>
#include <tcpxi/sockopt.h>
#include <tcpxi/options.h>

TCPXI_PLUGIN("delack", TCPXI_KIND_SOCKOPS, "1.0.0",
	     "Negotiate a bound on the peer's delayed-ACK time (TCP option, ExID 0x7864)");

#define DELACK_LEN 6
/* The kernel's own ceiling of the delayed-ACK time (TCP_DELACK_MAX). */
#define DELACK_CEILING_MS 200

#define DELACK_PARAMS(P)                                                                        \
	P(request_ms, u32, 1, 200, "ms", "Ask the peer to send its delayed ACKs within this time") \
	P(floor_ms, u32, 1, 200, "ms", "Honour peers' requests, never below this bound")
TCPXI_PARAMS(DELACK_PARAMS)

#define DELACK_COUNTERS(C)                                                                      \
	TCPXI_OPT_COUNTERS(C)                                                                  \
	C(granted, "Peer requests honoured: this end's delayed-ACK time bounded")              \
	C(granted_by_peer, "Own requests the peer said it honours")                             \
	C(setsockopt_errors, "Bounds the kernel refused")
TCPXI_COUNTERS(DELACK_COUNTERS)

struct delack_conn {
	__u8 offered; /* our SYN carried the option */
};
TCPXI_CONN_STATE(struct delack_conn)

/* TCP_BPF_DELACK_MAX is refused below two jiffies (TCP_TIMEOUT_MIN). */
extern unsigned int CONFIG_HZ __kconfig __weak;

/* The bound this end applies for a peer's request, 0 if it does not honour it. The
 * SYN-ACK callbacks compute it again at establishment: count there only. */
static __always_inline __u32 delack_grant(const struct tcpxi_params *p, __u8 request, int count)
{
	__u32 floor, bound = request;

	if (!request || !tcpxi_param_set(p, floor_ms))
		return 0;
	floor = p->floor_ms;
	if (CONFIG_HZ) {
		__u32 two_jiffies_ms = (2000 + CONFIG_HZ - 1) / CONFIG_HZ;

		if (floor < two_jiffies_ms)
			floor = two_jiffies_ms;
	}
	if (bound < floor || bound > DELACK_CEILING_MS) {
		if (count)
			tcpxi_count(clamped);
		bound = bound < floor ? floor : DELACK_CEILING_MS;
	}
	return bound;
}

static __always_inline void delack_apply(struct bpf_sock_ops *skops, __u32 bound_ms)
{
	if (!bound_ms)
		return;
	if (tcpxi_setsockopt_int(skops, TCPXI_SOL_TCP, TCP_BPF_DELACK_MAX, bound_ms * 1000))
		tcpxi_count(setsockopt_errors);
	else
		tcpxi_count(granted);
}

/* The peer's option in a handshake header, with counting; false if none is usable. */
static __always_inline int delack_find(const struct tcpxi_tcphdr *h, struct tcpxi_exp_opt *opt,
				       int count)
{
	int status = tcpxi_opt_find(h, TCPXI_OPT_EXP, TCPXI_EXID_DELACK, DELACK_LEN, (__u8 *)opt);

	if (count)
		return tcpxi_opt_count_found(status);
	return status == TCPXI_OPT_FOUND;
}

/* What this segment carries; false if nothing. */
static __always_inline int delack_build(struct bpf_sock_ops *skops, const struct tcpxi_params *p,
					struct tcpxi_exp_opt *out)
{
	__u8 request = tcpxi_param_set(p, request_ms) ? p->request_ms : 0;

	tcpxi_exp_init(out, TCPXI_EXID_DELACK, DELACK_LEN - TCPXI_OPT_EXP_HDR);
	out->data[0] = request;
	out->data[1] = 0;
	if (tcpxi_hdr_is_syn(skops))
		return 1;
	if (tcpxi_hdr_is_synack(skops)) {
		struct tcpxi_tcphdr h;
		struct tcpxi_exp_opt peer;

		if (tcpxi_hdr_load_syn(skops, &h) || !delack_find(&h, &peer, 0))
			return 0; /* the client does not run delack: a plain SYN-ACK */
		if (tcpxi_hdr_is_cookie(skops)) {
			if (skops->op == BPF_SOCK_OPS_HDR_OPT_LEN_CB)
				tcpxi_count(cookie_skipped);
			return 0;
		}
		out->data[1] = delack_grant(p, peer.data[0], 0);
		return 1;
	}
	/* A later segment, or an MSS probe. */
	if (tcpxi_hdr_handshake_over(skops))
		tcpxi_hdr_cb_release(skops, TCPXI_EXT_DELACK);
	return 0;
}

SEC("sockops")
int tcpxi_delack(struct bpf_sock_ops *skops)
{
	const struct tcpxi_params *p = tcpxi_params_get();
	struct tcpxi_exp_opt opt;
	struct tcpxi_tcphdr h;
	struct delack_conn *c;
	int err;

	if (!p->set)
		return 1;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		c = tcpxi_conn_get(skops, 1);
		if (c && !tcpxi_hdr_cb_hold(skops, TCPXI_EXT_DELACK))
			c->offered = 0;
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		if (tcpxi_hdr_cb_hold(skops, TCPXI_EXT_DELACK) || tcpxi_save_syn(skops))
			tcpxi_count(setsockopt_errors);
		break;
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
		if (delack_build(skops, p, &opt) && tcpxi_opt_reserve(skops, DELACK_LEN))
			tcpxi_count(no_room);
		break;
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		if (!delack_build(skops, p, &opt))
			break;
		/* -ENOSPC: the reservation failed and was counted; -EEXIST: a program of a
		 * more specific cgroup wrote the option. */
		err = tcpxi_opt_store(skops, &opt, DELACK_LEN);
		if (err)
			break;
		tcpxi_count(sent);
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
		if (c->offered && !tcpxi_hdr_load_skb(skops, &h) && delack_find(&h, &opt, 1)) {
			if (opt.data[1] && tcpxi_param_set(p, request_ms))
				tcpxi_count(granted_by_peer);
			delack_apply(skops, delack_grant(p, opt.data[0], 1));
		}
		tcpxi_hdr_cb_release(skops, TCPXI_EXT_DELACK);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		/* The SYN-ACK answered with delack_grant() of the same request. */
		if (!tcpxi_hdr_load_syn(skops, &h) && delack_find(&h, &opt, 1))
			delack_apply(skops, delack_grant(p, opt.data[0], 1));
		if (skops->state != BPF_TCP_SYN_RECV) /* Fast Open: the SYN-ACK is still to come */
			tcpxi_hdr_cb_release(skops, TCPXI_EXT_DELACK);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
