// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* stats: what TCP does for a cgroup's connections, counted per cgroup, and a table of
 * the connections alive now (RFC 4898 TCP-ESTATS-MIB Perf and Path values).
 *
 * Per cgroup (per-CPU cgroup storage, read by the loader like every plugin's counters):
 * opens, failures, resets, connections established and closed, retransmitted segments,
 * RTO expirations, bytes and segments, and a log2 histogram of RTT samples.
 *
 * Per connection: tcpxi_conns, a hash keyed by socket cookie that user space iterates
 * (an sk_storage map cannot be listed without a bpf_iter program). Each entry says who
 * the connection is (addresses, cgroup, network namespace) and holds a snapshot of its
 * ESTATS values, refreshed at most once a second and at every state change; tcpxi
 * overlays the live values from sock_diag for connections in its own namespace.
 *
 * Callbacks: the always-on connect and established ones, plus per socket (asked with
 * bpf_sock_ops_cb_flags_set, keeping whatever flags another plugin asked for): STATE
 * (opens, closes, resets), RETRANS (retransmitted segments), RTO (timeouts) and RTT
 * (one call per RTT sample: the histogram, and the byte/segment accounting of a sender).
 * Byte and segment counters advance by the difference to what this socket had already
 * been accounted for (tcpxi_acct, socket storage), so they are exact when a connection
 * ends and never go backwards. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <tcpxi/plugin.h>
#include <tcpxi/sockopt.h>

TCPXI_PLUGIN("stats", TCPXI_KIND_SOCKOPS, "1.0.0",
	     "TCP statistics per cgroup (opens, closes, retransmissions, bytes, RTT histogram) and per connection (RFC 4898)");

#define STATS_COUNTERS(C)                                                                   \
	C(active_opens, "Connections opened by connect() (SYN sent)")                        \
	C(passive_opens, "Connections accepted (handshake completed)")                        \
	C(failed_opens, "Active opens that never reached ESTABLISHED")                        \
	C(estab_resets, "Connections reset from ESTABLISHED or CLOSE-WAIT")                   \
	C(established, "Connections that reached ESTABLISHED")                                \
	C(estab_left, "Connections that left ESTABLISHED and CLOSE-WAIT")                     \
	C(closed, "Established connections that reached CLOSED")                              \
	C(retrans_segs, "Segments retransmitted")                                            \
	C(rto_expirations, "Retransmission timeouts that expired")                            \
	C(bytes_acked, "Bytes acknowledged by the peer (SYN and FIN count one each)")         \
	C(bytes_received, "Bytes received in order (FIN counts one)")                         \
	C(segs_in, "Segments received")                                                      \
	C(segs_out, "Segments sent")                                                         \
	C(data_segs_in, "Segments received that carried data")                                \
	C(data_segs_out, "Segments sent that carried data")                                   \
	C(delivered, "Segments delivered to the peer")                                        \
	C(delivered_ce, "Segments delivered with an ECN CE mark")                             \
	C(rtt_samples, "RTT samples taken")                                                  \
	C(rtt_sum_us, "Sum of the RTT samples, microseconds")                                 \
	C(conns_untracked, "Connections missing from the connection table (it was full)")

/* The RTT histogram: bucket b counts samples of at most 2^b microseconds (b = 0..25,
 * 1 us .. 33.5 s), the last one everything longer. The buckets are ordinary counters
 * (the loader reads them like any plugin's) that lie next to each other in the
 * storage, so the program indexes them from the first. */
#define STATS_RTT_BUCKETS 27
#define STATS_RTT_COUNTERS(C) \
	C(rtt_le_1us, "RTT samples of at most 1 us") \
	C(rtt_le_2us, "RTT samples of at most 2 us") \
	C(rtt_le_4us, "RTT samples of at most 4 us") \
	C(rtt_le_8us, "RTT samples of at most 8 us") \
	C(rtt_le_16us, "RTT samples of at most 16 us") \
	C(rtt_le_32us, "RTT samples of at most 32 us") \
	C(rtt_le_64us, "RTT samples of at most 64 us") \
	C(rtt_le_128us, "RTT samples of at most 128 us") \
	C(rtt_le_256us, "RTT samples of at most 256 us") \
	C(rtt_le_512us, "RTT samples of at most 512 us") \
	C(rtt_le_1024us, "RTT samples of at most 1024 us") \
	C(rtt_le_2048us, "RTT samples of at most 2048 us") \
	C(rtt_le_4096us, "RTT samples of at most 4096 us") \
	C(rtt_le_8192us, "RTT samples of at most 8192 us") \
	C(rtt_le_16384us, "RTT samples of at most 16384 us") \
	C(rtt_le_32768us, "RTT samples of at most 32768 us") \
	C(rtt_le_65536us, "RTT samples of at most 65536 us") \
	C(rtt_le_131072us, "RTT samples of at most 131072 us") \
	C(rtt_le_262144us, "RTT samples of at most 262144 us") \
	C(rtt_le_524288us, "RTT samples of at most 524288 us") \
	C(rtt_le_1048576us, "RTT samples of at most 1048576 us") \
	C(rtt_le_2097152us, "RTT samples of at most 2097152 us") \
	C(rtt_le_4194304us, "RTT samples of at most 4194304 us") \
	C(rtt_le_8388608us, "RTT samples of at most 8388608 us") \
	C(rtt_le_16777216us, "RTT samples of at most 16777216 us") \
	C(rtt_le_33554432us, "RTT samples of at most 33554432 us") \
	C(rtt_le_inf, "RTT samples above 33554432 us")

#define STATS_ALL_COUNTERS(C) STATS_COUNTERS(C) STATS_RTT_COUNTERS(C)
TCPXI_COUNTERS(STATS_ALL_COUNTERS)

/* Parameters: none set means everything on, refreshed once a second. */
#define STATS_PARAMS(P)                                                                     \
	P(conn_table, bool, 0, 1, "", "Keep the table of live connections (off: counters only)") \
	P(refresh_ms, u32, 10, 60000, "ms", "How often a connection's snapshot in the table is refreshed")
TCPXI_PARAMS(STATS_PARAMS)

/* What this socket has been accounted for in the byte and segment counters. */
struct stats_acct {
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 segs_in;
	__u32 segs_out;
	__u32 data_segs_in;
	__u32 data_segs_out;
	__u32 delivered;
	__u32 delivered_ce;
	__u64 refreshed_ns; /* last snapshot into tcpxi_conns */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct stats_acct);
} tcpxi_acct SEC(".maps");

/* One live connection. Keep in step with ConnRecord in loader/stats_conns.cpp (the
 * loader checks the size against the map's value size). */
struct tcpxi_conn {
	__u64 cgroup_id;    /* the socket's cgroup */
	__u64 netns_cookie; /* its network namespace */
	__u64 started_ns;   /* CLOCK_MONOTONIC, when it was established */
	__u64 updated_ns;   /* when the snapshot below was taken */
	__u32 family;
	__u32 state;
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u32 active; /* 1: this end connected, 0: it accepted */
	/* RFC 4898 Perf and Path values, as of updated_ns */
	__u32 srtt_us;
	__u32 min_rtt_us;
	__u32 snd_cwnd;
	__u32 snd_ssthresh;
	__u32 mss;
	__u32 total_retrans;
	__u32 segs_in;
	__u32 segs_out;
	__u32 delivered;
	__u32 delivered_ce;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u64 pacing_rate; /* bytes per second */
};

#define STATS_MAX_CONNS 65536

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, STATS_MAX_CONNS);
	__type(key, __u64); /* socket cookie */
	__type(value, struct tcpxi_conn);
} tcpxi_conns SEC(".maps");

#define STATS_CB_FLAGS                                                                     \
	(BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RETRANS_CB_FLAG | BPF_SOCK_OPS_RTO_CB_FLAG | \
	 BPF_SOCK_OPS_RTT_CB_FLAG)

#define STATS_REFRESH_NS 1000000000ULL

static __always_inline struct tcpxi_counters *counters(void)
{
	return bpf_get_local_storage(&tcpxi_counters, 0);
}

static __always_inline void ask_callbacks(struct bpf_sock_ops *skops)
{
	__u32 flags = skops->bpf_sock_ops_cb_flags;

	if ((flags & STATS_CB_FLAGS) != STATS_CB_FLAGS)
		bpf_sock_ops_cb_flags_set(skops, flags | STATS_CB_FLAGS);
}

static __always_inline __u32 rtt_bucket(__u32 us)
{
	__u32 b = 0, v;

	/* smallest b with us <= 2^b */
	if (us <= 1)
		return 0;
	v = us - 1;
	if (v >> 16) { b += 16; v >>= 16; }
	if (v >> 8) { b += 8; v >>= 8; }
	if (v >> 4) { b += 4; v >>= 4; }
	if (v >> 2) { b += 2; v >>= 2; }
	if (v >> 1) { b += 1; v >>= 1; }
	b += v; /* v is 1 here: the bit length of us-1 */
	return b < STATS_RTT_BUCKETS - 1 ? b : STATS_RTT_BUCKETS - 1;
}

/* Adds what the socket did since it was last accounted for. */
static __always_inline void account(struct bpf_sock_ops *skops, struct bpf_sock *sk,
				    struct stats_acct *acct, struct tcpxi_counters *c)
{
	struct bpf_tcp_sock *tp;
	__u64 bytes_acked = skops->bytes_acked, bytes_received = skops->bytes_received;
	__u32 segs_in = skops->segs_in, segs_out = skops->segs_out;
	__u32 dsegs_in = skops->data_segs_in, dsegs_out = skops->data_segs_out;

	c->bytes_acked += bytes_acked - acct->bytes_acked;
	c->bytes_received += bytes_received - acct->bytes_received;
	c->segs_in += segs_in - acct->segs_in;
	c->segs_out += segs_out - acct->segs_out;
	c->data_segs_in += dsegs_in - acct->data_segs_in;
	c->data_segs_out += dsegs_out - acct->data_segs_out;
	acct->bytes_acked = bytes_acked;
	acct->bytes_received = bytes_received;
	acct->segs_in = segs_in;
	acct->segs_out = segs_out;
	acct->data_segs_in = dsegs_in;
	acct->data_segs_out = dsegs_out;

	tp = bpf_tcp_sock(sk);
	if (!tp)
		return;
	c->delivered += tp->delivered - acct->delivered;
	c->delivered_ce += tp->delivered_ce - acct->delivered_ce;
	acct->delivered = tp->delivered;
	acct->delivered_ce = tp->delivered_ce;
}

static __always_inline void snapshot(struct bpf_sock_ops *skops, struct bpf_sock *sk,
				     struct tcpxi_conn *conn, __u64 now)
{
	struct bpf_tcp_sock *tp;
	struct tcp_sock *ktp;

	conn->updated_ns = now;
	conn->state = skops->state;
	conn->srtt_us = skops->srtt_us >> 3;
	conn->snd_cwnd = skops->snd_cwnd;
	conn->snd_ssthresh = skops->snd_ssthresh;
	conn->mss = skops->mss_cache;
	conn->total_retrans = skops->total_retrans;
	conn->segs_in = skops->segs_in;
	conn->segs_out = skops->segs_out;
	conn->bytes_acked = skops->bytes_acked;
	conn->bytes_received = skops->bytes_received;
	tp = bpf_tcp_sock(sk);
	if (tp) {
		conn->min_rtt_us = tp->rtt_min;
		conn->delivered = tp->delivered;
		conn->delivered_ce = tp->delivered_ce;
	}
	ktp = bpf_skc_to_tcp_sock(sk);
	if (ktp)
		conn->pacing_rate = BPF_CORE_READ(ktp, inet_conn.icsk_inet.sk.sk_pacing_rate);
}

static __always_inline void track(struct bpf_sock_ops *skops, struct bpf_sock *sk,
				  struct tcpxi_counters *c, __u32 active)
{
	const struct tcpxi_params *p = tcpxi_params_get();
	struct tcpxi_conn conn = {};
	struct tcp_sock *ktp;
	__u64 cookie, now;

	if (tcpxi_param_set(p, conn_table) && !p->conn_table)
		return;
	cookie = bpf_get_socket_cookie(skops);
	now = bpf_ktime_get_ns();

	conn.netns_cookie = bpf_get_netns_cookie(skops);
	conn.started_ns = now;
	conn.family = skops->family;
	conn.active = active;
	conn.local_port = skops->local_port;
	conn.remote_port = bpf_ntohl(skops->remote_port) & 0xffff;
	if (skops->family == AF_INET6) {
		__u32 *l = (__u32 *)conn.local_addr, *r = (__u32 *)conn.remote_addr;

		l[0] = skops->local_ip6[0];
		l[1] = skops->local_ip6[1];
		l[2] = skops->local_ip6[2];
		l[3] = skops->local_ip6[3];
		r[0] = skops->remote_ip6[0];
		r[1] = skops->remote_ip6[1];
		r[2] = skops->remote_ip6[2];
		r[3] = skops->remote_ip6[3];
	} else {
		*(__u32 *)conn.local_addr = skops->local_ip4;
		*(__u32 *)conn.remote_addr = skops->remote_ip4;
	}
	ktp = bpf_skc_to_tcp_sock(sk);
	if (ktp)
		conn.cgroup_id = BPF_CORE_READ(ktp, inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup, kn, id);
	snapshot(skops, sk, &conn, now);
	if (bpf_map_update_elem(&tcpxi_conns, &cookie, &conn, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&tcpxi_conns, &cookie))
		c->conns_untracked++;
}

static __always_inline struct stats_acct *acct_of(struct bpf_sock *sk, bool create)
{
	return bpf_sk_storage_get(&tcpxi_acct, sk, 0, create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
}

static __always_inline void refresh(struct bpf_sock_ops *skops, struct bpf_sock *sk,
				    struct stats_acct *acct, bool force)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 cookie;
	struct tcpxi_conn *conn;

	const struct tcpxi_params *p = tcpxi_params_get();
	__u64 interval = tcpxi_param_set(p, refresh_ms) ? p->refresh_ms * 1000000ULL : STATS_REFRESH_NS;

	if (!force && now - acct->refreshed_ns < interval)
		return;
	acct->refreshed_ns = now;
	cookie = bpf_get_socket_cookie(skops);
	conn = bpf_map_lookup_elem(&tcpxi_conns, &cookie);
	if (conn)
		snapshot(skops, sk, conn, now);
}

static __always_inline bool is_estab(__u32 state)
{
	return state == BPF_TCP_ESTABLISHED || state == BPF_TCP_CLOSE_WAIT;
}

static __always_inline void established(struct bpf_sock_ops *skops, struct bpf_sock *sk,
					struct tcpxi_counters *c, __u32 active)
{
	struct stats_acct *acct;

	ask_callbacks(skops);
	c->established++;
	acct = acct_of(sk, true);
	if (acct) {
		account(skops, sk, acct, c);
		acct->refreshed_ns = bpf_ktime_get_ns();
	}
	track(skops, sk, c, active);
}

static __always_inline void state_change(struct bpf_sock_ops *skops, struct bpf_sock *sk,
					 struct tcpxi_counters *c)
{
	__u32 old = skops->args[0], new = skops->args[1];
	struct stats_acct *acct = acct_of(sk, false);
	__u64 cookie;

	if (is_estab(old) && !is_estab(new))
		c->estab_left++;
	if (acct)
		account(skops, sk, acct, c);
	if (new != BPF_TCP_CLOSE) {
		if (acct)
			refresh(skops, sk, acct, true);
		return;
	}
	if (old == BPF_TCP_SYN_SENT || old == BPF_TCP_SYN_RECV) {
		c->failed_opens++;
	} else {
		c->closed++;
		if (is_estab(old))
			c->estab_resets++;
	}
	cookie = bpf_get_socket_cookie(skops);
	bpf_map_delete_elem(&tcpxi_conns, &cookie);
	bpf_sk_storage_delete(&tcpxi_acct, sk);
}

static __always_inline void rtt_sample(struct bpf_sock_ops *skops, struct bpf_sock *sk,
				       struct tcpxi_counters *c)
{
	/* Kernels since 6.10 pass the sample (mrtt, us); older ones nothing, and then the
	 * smoothed RTT stands in for it. */
	__u32 us = skops->args[0];
	struct stats_acct *acct;
	__u32 idx;

	if (!us || us > 0x7fffffff)
		us = skops->srtt_us >> 3;
	c->rtt_samples++;
	c->rtt_sum_us += us;
	idx = rtt_bucket(us);
	/* Keep the bound check: the verifier cannot see that rtt_bucket() has one. */
	asm volatile("" : "+r"(idx));
	if (idx < STATS_RTT_BUCKETS)
		(&c->rtt_le_1us)[idx]++;
	acct = acct_of(sk, false);
	if (acct) {
		account(skops, sk, acct, c);
		refresh(skops, sk, acct, false);
	}
}

SEC("sockops")
int tcpxi_stats(struct bpf_sock_ops *skops)
{
	struct tcpxi_counters *c = counters();
	struct stats_acct *acct;
	struct bpf_sock *sk;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		c->active_opens++;
		ask_callbacks(skops);
		return 1;
	case BPF_SOCK_OPS_RTO_CB:
		c->rto_expirations++;
		return 1;
	case BPF_SOCK_OPS_RETRANS_CB:
		/* Counted whatever the transmit returned, as the kernel's RetransSegs and
		 * tcpi_total_retrans count them (a local drop, netfilter's say, still is a
		 * retransmission). */
		c->retrans_segs += skops->args[1];
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		c->passive_opens++;
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_RTT_CB:
	case BPF_SOCK_OPS_STATE_CB:
		break;
	default:
		return 1;
	}

	/* The rest needs the full socket. */
	sk = skops->sk;
	if (!sk)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		established(skops, sk, c, 1);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		established(skops, sk, c, 0);
		break;
	case BPF_SOCK_OPS_RTT_CB:
		rtt_sample(skops, sk, c);
		break;
	case BPF_SOCK_OPS_RETRANS_CB:
		acct = acct_of(sk, false);
		if (acct)
			refresh(skops, sk, acct, false);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		state_change(skops, sk, c);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
