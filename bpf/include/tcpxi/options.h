/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcpxi option toolkit: TCP header options that two ends negotiate on the handshake.
 *
 * An option plugin offers its option on the SYN and switches on only when the SYN-ACK
 * answers with the same option: that pair is the capability handshake. A peer without
 * the plugin, or a middlebox that strips the option, leaves both ends plain TCP.
 *
 *   active end                                passive end (listener in a cgroup)
 *   TCP_CONNECT_CB   hold header callbacks    TCP_LISTEN_CB   hold callbacks, save SYNs
 *   HDR_OPT_LEN_CB   reserve on the SYN       HDR_OPT_LEN_CB  reserve on the SYN-ACK, if
 *   WRITE_HDR_OPT_CB write the offer          WRITE_HDR_OPT_CB  the SYN offered: the answer
 *   ACTIVE_ESTABLISHED_CB read the SYN-ACK,   PASSIVE_ESTABLISHED_CB read the saved SYN,
 *                    apply, release                           apply, release
 *
 * Nothing is parsed per packet: the SYN-ACK is the skb of ACTIVE_ESTABLISHED_CB, and the
 * SYN comes from bpf_getsockopt(TCP_BPF_SYN) (the SYN just received while the SYN-ACK is
 * written, the saved one later). Header-option callbacks are on for the handshake only.
 *
 * Kinds: a raw kind (e.g. 28, RFC 5482 UTO) or TCPXI_OPT_EXP (253), the RFC 6994 shared
 * experimental kind, where a 16-bit ExID after the length says whose option it is, so
 * any number of extensions share the kind. The kernel refuses to write one (kind, ExID)
 * twice in a segment, so every extension has an ExID of its own (see the registry).
 *
 * Room: the 40 option bytes are shared with MSS, SACK-permitted, timestamps, window
 * scale and other plugins. bpf_reserve_hdr_opt() fails with -ENOSPC when they are gone;
 * the extension then does not offer (or answer), counts no_room and the connection is
 * plain TCP for it. The kernel bounds every write by what was reserved, and programs
 * run in the same order for the reservation and the write, so an extension that got no
 * room never takes another's bytes.
 */
#ifndef TCPXI_OPTIONS_H
#define TCPXI_OPTIONS_H

#include <bpf/bpf_helpers.h>
#include <tcpxi/sockopt.h>

/* ---- wire constants ------------------------------------------------------------------ */
#define TCPXI_OPT_EOL 0
#define TCPXI_OPT_NOP 1
#define TCPXI_OPT_UTO 28  /* RFC 5482 User Timeout Option */
#define TCPXI_OPT_EXP 253 /* RFC 6994 experimental kind (254 carries TFO's draft cookie) */
#define TCPXI_OPT_EXP_HDR 4 /* kind, length, 16-bit ExID */
#define TCPXI_OPT_SPACE 40
#define TCPXI_TCPHDR_MIN 20
#define TCPXI_TCPHDR_MAX 60

#define TCPXI_TH_SYN 0x02
#define TCPXI_TH_ACK 0x10

#define TCPXI_TCP_SAVE_SYN 27 /* include/uapi/linux/tcp.h */

#define TCPXI_ENOENT 2
#define TCPXI_ENOMEM 12
#define TCPXI_EEXIST 17
#define TCPXI_EINVAL 22
#define TCPXI_ENOSPC 28

/* ---- registry -------------------------------------------------------------------------
 * One line per option extension: its bit among the socket's header-callback holders and
 * its RFC 6994 ExID. ExIDs are not IANA-registered: they are tcpxi's experimental values
 * ("tx" + a letter). A new extension takes the next bit and a new ExID.
 */
enum tcpxi_ext {
	TCPXI_EXT_UTO = 0,     /* kind 28, no ExID */
	TCPXI_EXT_DELACK = 1,  /* ExID 0x7864 "xd" */
	TCPXI_EXT_INITWND = 2, /* ExID 0x7869 "xi" */
	TCPXI_EXT_MAX = 32,
};
#define TCPXI_EXID_DELACK 0x7864
#define TCPXI_EXID_INITWND 0x7869

/* ---- counters every option plugin keeps -------------------------------------------------
 * Put TCPXI_OPT_COUNTERS(C) first in the plugin's counter list; the helpers below count
 * into these names.
 */
#define TCPXI_OPT_COUNTERS(C)                                                                 \
	C(sent, "Options written (SYN, SYN-ACK, and data segments where configured)")         \
	C(received, "Well-formed options received from the peer")                           \
	C(malformed, "Peer options ignored: truncated, oversized or in a broken option list") \
	C(duplicated, "Peer options ignored: the option appeared twice")                    \
	C(no_room, "Options not sent: no room left in the 40 option bytes")                 \
	C(cookie_skipped, "SYN-ACKs sent as SYN cookies, left without an answer")           \
	C(clamped, "Peer values outside the local bounds, clamped")

/* ---- header-option callbacks on the packets that need them -----------------------------
 * The callback flags belong to the socket, not to a plugin: one plugin switching them off
 * would silence another. So every option plugin records that it needs them in a socket
 * storage shared by all plugins of a tcpxi instance (the loader pins maps named
 * tcpxi_sh_* once per instance and hands the same map to every plugin), and the flag goes
 * off when the last holder lets go. BPF_F_CLONE: an accepted socket inherits its
 * listener's holders together with its listener's flags.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, __u32);
} tcpxi_sh_hdr_cb SEC(".maps");

#define TCPXI__HDR_FLAG BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG

/* Asks for HDR_OPT_LEN_CB and WRITE_HDR_OPT_CB on this full socket (and on the SYN-ACKs
 * of a listener). Returns 0 or a negative errno. */
static __always_inline int tcpxi_hdr_cb_hold(struct bpf_sock_ops *skops, enum tcpxi_ext ext)
{
	struct bpf_sock *sk = skops->sk;
	__u32 *holders;

	if (!sk)
		return -TCPXI_EINVAL;
	holders = bpf_sk_storage_get(&tcpxi_sh_hdr_cb, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!holders)
		return -TCPXI_ENOMEM;
	*holders |= 1u << (ext & 31);
	if (skops->bpf_sock_ops_cb_flags & TCPXI__HDR_FLAG)
		return 0;
	return bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | TCPXI__HDR_FLAG);
}

/* This extension is done with header options on this socket; the callbacks stop when no
 * other extension holds them. */
static __always_inline void tcpxi_hdr_cb_release(struct bpf_sock_ops *skops, enum tcpxi_ext ext)
{
	struct bpf_sock *sk = skops->sk;
	__u32 *holders;

	if (!sk || !(skops->bpf_sock_ops_cb_flags & TCPXI__HDR_FLAG))
		return;
	holders = bpf_sk_storage_get(&tcpxi_sh_hdr_cb, sk, 0, 0);
	if (holders) {
		*holders &= ~(1u << (ext & 31));
		if (*holders)
			return;
	}
	/* Cannot fail for a full socket and a known flag; nothing to do if it did. */
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags & ~TCPXI__HDR_FLAG);
}

/* Keeps the peer's SYN with the connection until the application or the socket frees it,
 * so that PASSIVE_ESTABLISHED_CB can read its options (one TCP/IP header per connection).
 * Call on the listener. */
static __always_inline int tcpxi_save_syn(struct bpf_sock_ops *skops)
{
	return tcpxi_setsockopt_int(skops, TCPXI_SOL_TCP, TCPXI_TCP_SAVE_SYN, 1);
}

/* ---- which segment a HDR_OPT_LEN_CB / WRITE_HDR_OPT_CB is for ---------------------------- */
static __always_inline int tcpxi_hdr_is_syn(const struct bpf_sock_ops *skops)
{
	return (skops->skb_tcp_flags & (TCPXI_TH_SYN | TCPXI_TH_ACK)) == TCPXI_TH_SYN;
}

static __always_inline int tcpxi_hdr_is_synack(const struct bpf_sock_ops *skops)
{
	return (skops->skb_tcp_flags & (TCPXI_TH_SYN | TCPXI_TH_ACK)) == (TCPXI_TH_SYN | TCPXI_TH_ACK);
}

/* A SYN cookie keeps no state: the SYN is gone when the connection is established, so
 * the passive end could not act on what it answered. Extensions do not answer then. */
static __always_inline int tcpxi_hdr_is_cookie(const struct bpf_sock_ops *skops)
{
	return skops->args[0] & BPF_WRITE_HDR_TCP_SYNACK_COOKIE;
}

/* The kernel asks for the option length of an established socket to size its segments;
 * no segment is sent. A plugin that writes on data segments must reserve here too. */
static __always_inline int tcpxi_hdr_is_mss_probe(const struct bpf_sock_ops *skops)
{
	return skops->args[0] & BPF_WRITE_HDR_TCP_CURRENT_MSS;
}

/* True once the socket is past its handshake: a segment or MSS probe of such a socket is
 * where a handshake-only extension lets go of the callbacks. A SYN-SENT socket probes
 * the MSS before it retransmits its SYN, which must carry the offer again. */
static __always_inline int tcpxi_hdr_handshake_over(const struct bpf_sock_ops *skops)
{
	__u32 state = skops->state;

	return skops->is_fullsock && state != BPF_TCP_SYN_SENT && state != BPF_TCP_SYN_RECV &&
	       state != BPF_TCP_LISTEN && state != BPF_TCP_NEW_SYN_RECV;
}

/* Reserves `len` option bytes (HDR_OPT_LEN_CB). 0, or -ENOSPC when there is no room. */
static __always_inline int tcpxi_opt_reserve(struct bpf_sock_ops *skops, __u32 len)
{
	return bpf_reserve_hdr_opt(skops, len, 0);
}

/* ---- the option itself ---------------------------------------------------------------- */

/* An RFC 6994 option with up to 4 bytes of data after the ExID. */
struct tcpxi_exp_opt {
	__u8 kind;
	__u8 len;
	__u8 exid[2]; /* network order */
	__u8 data[4];
} __attribute__((packed));

static __always_inline void tcpxi_exp_init(struct tcpxi_exp_opt *opt, __u16 exid, __u8 data_len)
{
	opt->kind = TCPXI_OPT_EXP;
	opt->len = TCPXI_OPT_EXP_HDR + data_len;
	opt->exid[0] = exid >> 8;
	opt->exid[1] = exid & 0xff;
}

/* Writes an option reserved in HDR_OPT_LEN_CB (WRITE_HDR_OPT_CB); `len` must be a constant
 * equal to opt's length byte. 0 or a negative errno: -ENOSPC (no room was reserved),
 * -EEXIST (a program of a more specific cgroup wrote the same option already). */
static __always_inline int tcpxi_opt_store(struct bpf_sock_ops *skops, const void *opt, __u32 len)
{
	return bpf_store_hdr_opt(skops, opt, len, 0);
}

/* ---- reading the peer's handshake segment -----------------------------------------------
 * A copy of the TCP header (options included) on the stack: the parser below indexes it
 * with offsets masked to 63, which the verifier can check without tracking packet ranges.
 */
struct tcpxi_tcphdr {
	__u8 bytes[64];
	__u32 len; /* 20..60 */
};

/* The peer's SYN, on the passive end: in HDR_OPT_LEN_CB/WRITE_HDR_OPT_CB of the SYN-ACK
 * (always), in PASSIVE_ESTABLISHED_CB (when the listener saved it: tcpxi_save_syn()).
 * 0, or -ENOENT when the SYN is not there (a SYN cookie, or a listener that did not save). */
static __always_inline int tcpxi_hdr_load_syn(struct bpf_sock_ops *skops, struct tcpxi_tcphdr *h)
{
	int ret = bpf_getsockopt(skops, TCPXI_SOL_TCP, TCP_BPF_SYN, h->bytes, TCPXI_TCPHDR_MAX);

	if (ret < 0)
		return ret;
	if (ret < TCPXI_TCPHDR_MIN || ret > TCPXI_TCPHDR_MAX)
		return -TCPXI_EINVAL;
	h->len = ret;
	return 0;
}

/* The header of the segment a callback was made for; on the active end, the SYN-ACK in
 * ACTIVE_ESTABLISHED_CB. 0, or -ENOENT when the callback has no segment. */
static __always_inline int tcpxi_hdr_load_skb(struct bpf_sock_ops *skops, struct tcpxi_tcphdr *h)
{
	__u8 *data = (__u8 *)(long)skops->skb_data;
	__u8 *end = (__u8 *)(long)skops->skb_data_end;
	__u32 len, i;

	if (data + TCPXI_TCPHDR_MIN > end)
		return -TCPXI_ENOENT;
	len = (data[12] >> 4) * 4;
	if (len < TCPXI_TCPHDR_MIN)
		return -TCPXI_EINVAL;
	for (i = 0; i < TCPXI_TCPHDR_MAX; i++) {
		__u8 *p = data + i;

		if (i >= len)
			break;
		if (p + 1 > end)
			return -TCPXI_EINVAL; /* doff points past the segment */
		h->bytes[i] = *p;
	}
	h->len = len;
	return 0;
}

enum tcpxi_opt_status {
	TCPXI_OPT_ABSENT = 0,
	TCPXI_OPT_FOUND = 1,
	TCPXI_OPT_MALFORMED = -1, /* wrong length for its kind, or the option list is broken */
	TCPXI_OPT_DUPLICATE = -2, /* the option appears more than once */
};

/* Finds option `kind` (for TCPXI_OPT_EXP: the one with `exid`) and copies it, all `size`
 * bytes, to `out`. `size` is the option's one valid length: a truncated or oversized
 * option is MALFORMED. So is any option whose length is below 2 or runs past the header
 * (the kernel's own parser stops there too).
 *
 * The walk visits the 40 option bytes in a fully unrolled loop, so every header index is
 * a constant; `next`, where the next option starts, is only compared. A loop over option
 * offsets instead makes the offset a precise index and the verifier explores every
 * combination of option lengths (over its 1M-instruction budget). */
static __always_inline int tcpxi_opt_find(const struct tcpxi_tcphdr *h, __u8 kind, __u16 exid,
					  __u8 size, __u8 *out)
{
	__u32 end = h->len > TCPXI_TCPHDR_MAX ? TCPXI_TCPHDR_MAX : h->len;
	__u32 next = TCPXI_TCPHDR_MIN;
	int found = 0;

#pragma clang loop unroll(full)
	for (__u32 i = TCPXI_TCPHDR_MIN; i < TCPXI_TCPHDR_MAX; i++) {
		__u8 k, l;

		if (i != next || i >= end)
			continue;
		k = h->bytes[i];
		if (k == TCPXI_OPT_EOL)
			break;
		if (k == TCPXI_OPT_NOP) {
			next = i + 1;
			continue;
		}
		if (i + 1 >= end)
			return TCPXI_OPT_MALFORMED;
		l = h->bytes[i + 1];
		if (l < 2 || i + l > end)
			return TCPXI_OPT_MALFORMED;
		next = i + l;
		if (k != kind)
			continue;
		if (kind == TCPXI_OPT_EXP &&
		    (l < TCPXI_OPT_EXP_HDR || h->bytes[(i + 2) & 63] != (exid >> 8) ||
		     h->bytes[(i + 3) & 63] != (exid & 0xff)))
			continue; /* another experiment's option */
		if (found)
			return TCPXI_OPT_DUPLICATE;
		found = l == size ? TCPXI_OPT_FOUND : TCPXI_OPT_MALFORMED;
		if (found == TCPXI_OPT_FOUND)
			for (__u32 j = 0; j < size; j++)
				out[j] = h->bytes[(i + j) & 63];
	}
	return found;
}

/* Counts a find result into the plugin's TCPXI_OPT_COUNTERS; true when the option is usable. */
#define tcpxi_opt_count_found(status)                                                          \
	({                                                                                     \
		int __s = (status);                                                            \
		if (__s == TCPXI_OPT_FOUND)                                                    \
			tcpxi_count(received);                                                 \
		else if (__s == TCPXI_OPT_MALFORMED)                                           \
			tcpxi_count(malformed);                                                \
		else if (__s == TCPXI_OPT_DUPLICATE)                                           \
			tcpxi_count(duplicated);                                               \
		__s == TCPXI_OPT_FOUND;                                                        \
	})

/* ---- per-connection state ------------------------------------------------------------
 * TCPXI_CONN_STATE(struct my_state) declares the plugin's socket storage and
 * tcpxi_conn_get(skops, create). Full sockets only (request sockets have no storage).
 */
#define TCPXI_CONN_STATE(state_type)                                                                 \
	struct {                                                                               \
		__uint(type, BPF_MAP_TYPE_SK_STORAGE);                                         \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                          \
		__type(key, int);                                                              \
		__type(value, state_type);                                                           \
	} tcpxi_conn SEC(".maps");                                                             \
	static __always_inline state_type *tcpxi_conn_get(struct bpf_sock_ops *skops, int create)    \
	{                                                                                      \
		struct bpf_sock *__sk = skops->sk;                                             \
		if (!__sk)                                                                     \
			return 0;                                                              \
		return bpf_sk_storage_get(&tcpxi_conn, __sk, 0,                                \
					  create ? BPF_SK_STORAGE_GET_F_CREATE : 0);           \
	}

#endif /* TCPXI_OPTIONS_H */
