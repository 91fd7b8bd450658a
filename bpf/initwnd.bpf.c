// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* initwnd: a client asks the server for a larger initial congestion window.
 *
 * The client knows its own path and its own response sizes better than the server does:
 * it asks for an initial window for the server's data on this connection, and a server
 * that runs initwnd with cap set grants it, up to its cap, and says so in the SYN-ACK.
 * The server applies the grant with TCP_BPF_IW before it sends its first data.
 *
 * Option (RFC 6994, kind 253, ExID 0x7869), 5 bytes:
 *   253 | 5 | 0x78 | 0x69 | segments
 * SYN: the window asked for; SYN-ACK: the window granted. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <tcpxi/plugin.h>
#include <tcpxi/sockopt.h>
#include <tcpxi/options.h>

TCPXI_PLUGIN("initwnd", TCPXI_KIND_SOCKOPS, "1.0.0",
	     "Negotiate the server's initial congestion window (TCP option, ExID 0x7869)");

#define INITWND_LEN 5

#define INITWND_PARAMS(P)                                                                       \
	P(request, u32, 1, 255, "segments", "Initial window to ask servers for (client)")      \
	P(cap, u32, 1, 255, "segments", "Grant clients' requests up to this window (server)")
TCPXI_PARAMS(INITWND_PARAMS)

#define INITWND_COUNTERS(C)                                                                     \
	TCPXI_OPT_COUNTERS(C)                                                                  \
	C(granted, "Initial windows granted to clients and applied")                          \
	C(granted_by_peer, "Requests a server granted (SYN-ACK answers)")                       \
	C(setsockopt_errors, "Initial windows the kernel refused")
TCPXI_COUNTERS(INITWND_COUNTERS)

struct initwnd_conn {
	__u8 offered; /* our SYN carried the request */
	__u8 granted; /* what the server answered */
};
TCPXI_CONN_STATE(struct initwnd_conn)

static __always_inline int initwnd_find(const struct tcpxi_tcphdr *h, struct tcpxi_exp_opt *opt,
					int count)
{
	int status = tcpxi_opt_find(h, TCPXI_OPT_EXP, TCPXI_EXID_INITWND, INITWND_LEN, (__u8 *)opt);

	if (count)
		return tcpxi_opt_count_found(status);
	return status == TCPXI_OPT_FOUND;
}

/* The window granted for a request: never above the cap. */
static __always_inline __u8 initwnd_grant(const struct tcpxi_params *p, __u8 request, int count)
{
	if (!request)
		return 0; /* not a request; malformed in all but length */
	if (request > p->cap) {
		if (count)
			tcpxi_count(clamped);
		return p->cap;
	}
	return request;
}

/* What this segment carries; false if nothing. */
static __always_inline int initwnd_build(struct bpf_sock_ops *skops, const struct tcpxi_params *p,
					 struct tcpxi_exp_opt *out)
{
	tcpxi_exp_init(out, TCPXI_EXID_INITWND, INITWND_LEN - TCPXI_OPT_EXP_HDR);
	if (tcpxi_hdr_is_syn(skops)) {
		if (!tcpxi_param_set(p, request))
			return 0;
		out->data[0] = p->request;
		return 1;
	}
	if (tcpxi_hdr_is_synack(skops)) {
		struct tcpxi_tcphdr h;
		struct tcpxi_exp_opt peer;

		if (!tcpxi_param_set(p, cap) || tcpxi_hdr_load_syn(skops, &h) ||
		    !initwnd_find(&h, &peer, 0))
			return 0;
		if (tcpxi_hdr_is_cookie(skops)) {
			if (skops->op == BPF_SOCK_OPS_HDR_OPT_LEN_CB)
				tcpxi_count(cookie_skipped);
			return 0;
		}
		out->data[0] = initwnd_grant(p, peer.data[0], 0);
		return out->data[0] != 0;
	}
	/* A later segment, or an MSS probe. */
	if (tcpxi_hdr_handshake_over(skops))
		tcpxi_hdr_cb_release(skops, TCPXI_EXT_INITWND);
	return 0;
}

SEC("sockops")
int tcpxi_initwnd(struct bpf_sock_ops *skops)
{
	const struct tcpxi_params *p = tcpxi_params_get();
	struct tcpxi_exp_opt opt;
	struct tcpxi_tcphdr h;
	struct initwnd_conn *c;
	__u8 grant;
	int err;

	if (!p->set)
		return 1;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		if (!tcpxi_param_set(p, request))
			break;
		c = tcpxi_conn_get(skops, 1);
		if (c && !tcpxi_hdr_cb_hold(skops, TCPXI_EXT_INITWND))
			c->offered = 0;
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		if (!tcpxi_param_set(p, cap))
			break;
		if (tcpxi_hdr_cb_hold(skops, TCPXI_EXT_INITWND) || tcpxi_save_syn(skops))
			tcpxi_count(setsockopt_errors);
		break;
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
		if (initwnd_build(skops, p, &opt) && tcpxi_opt_reserve(skops, INITWND_LEN))
			tcpxi_count(no_room);
		break;
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		if (!initwnd_build(skops, p, &opt))
			break;
		/* -ENOSPC: the reservation failed and was counted; -EEXIST: a program of a
		 * more specific cgroup wrote the option. */
		err = tcpxi_opt_store(skops, &opt, INITWND_LEN);
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
		if (c->offered && !tcpxi_hdr_load_skb(skops, &h) && initwnd_find(&h, &opt, 1) &&
		    opt.data[0]) {
			c->granted = opt.data[0];
			tcpxi_count(granted_by_peer);
		}
		tcpxi_hdr_cb_release(skops, TCPXI_EXT_INITWND);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (!tcpxi_param_set(p, cap))
			break;
		/* Same grant as the SYN-ACK's; no saved SYN (a SYN cookie): nothing granted. */
		if (!tcpxi_hdr_load_syn(skops, &h) && initwnd_find(&h, &opt, 1)) {
			grant = initwnd_grant(p, opt.data[0], 1);
			if (!grant)
				tcpxi_count(malformed);
			else if (tcpxi_setsockopt_int(skops, TCPXI_SOL_TCP, TCP_BPF_IW, grant))
				tcpxi_count(setsockopt_errors);
			else
				tcpxi_count(granted);
		}
		if (skops->state != BPF_TCP_SYN_RECV) /* Fast Open: the SYN-ACK is still to come */
			tcpxi_hdr_cb_release(skops, TCPXI_EXT_INITWND);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
