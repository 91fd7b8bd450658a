// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* reno: the classic TCP congestion control (RFC 5681), as a struct_ops plugin.
 *
 * Slow start grows the window by one segment per segment ACKed until ssthresh;
 * congestion avoidance then adds one segment per window of ACKed data, and a loss
 * halves the window. A stretch ACK (delayed ACKs, GRO) counts for every segment it
 * covers, as in the kernel's reno.
 *
 * Only ops whose signature is the same on every kernel tcpxi supports (6.1 on) are
 * implemented; cong_control changed in 6.10 and is left out. Reno keeps no state of
 * its own: everything it needs is in tcp_sock. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <tcpxi/plugin.h>

TCPXI_PLUGIN("reno", TCPXI_KIND_CONGESTION, "1.0.0",
	     "Reno congestion control (RFC 5681): slow start, AIMD");

static __always_inline struct tcp_sock *tcp_sk(struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

static __always_inline bool in_slow_start(const struct tcp_sock *tp)
{
	return tp->snd_cwnd < tp->snd_ssthresh;
}

/* Growing a window the sender does not fill would only inflate it: in slow start
 * allow up to twice what was in flight, otherwise trust the kernel's verdict.
 * is_cwnd_limited is a bitfield, hence the CO-RE bitfield read. */
static __always_inline bool cwnd_limited(const struct tcp_sock *tp)
{
	if (in_slow_start(tp))
		return tp->snd_cwnd < 2 * tp->max_packets_out;
	return BPF_CORE_READ_BITFIELD(tp, is_cwnd_limited);
}

/* Returns the ACKed segments left over once the window reaches ssthresh, so they
 * go to congestion avoidance rather than being lost. */
static __always_inline u32 slow_start(struct tcp_sock *tp, u32 acked)
{
	u32 cwnd = tp->snd_cwnd + acked;
	u32 left = 0;

	if (cwnd > tp->snd_ssthresh) {
		left = cwnd - tp->snd_ssthresh;
		cwnd = tp->snd_ssthresh;
	}
	tp->snd_cwnd = cwnd < tp->snd_cwnd_clamp ? cwnd : tp->snd_cwnd_clamp;
	return left;
}

/* One segment more for every w segments ACKed; snd_cwnd_cnt carries the remainder
 * from ACK to ACK. */
static __always_inline void grow_linear(struct tcp_sock *tp, u32 w, u32 acked)
{
	u32 cwnd = tp->snd_cwnd;
	u32 cnt = tp->snd_cwnd_cnt;

	if (!w)
		w = 1;
	/* Credit earned against a larger w (the window has since shrunk) is worth one
	 * segment, not a burst. */
	if (cnt >= w) {
		cwnd++;
		cnt = 0;
	}
	cnt += acked;
	if (cnt >= w) {
		cwnd += cnt / w;
		cnt %= w;
	}
	tp->snd_cwnd_cnt = cnt;
	tp->snd_cwnd = cwnd < tp->snd_cwnd_clamp ? cwnd : tp->snd_cwnd_clamp;
}

SEC("struct_ops/tcpxi_reno_cong_avoid")
void BPF_PROG(tcpxi_reno_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (!cwnd_limited(tp))
		return;
	if (in_slow_start(tp)) {
		acked = slow_start(tp, acked);
		if (!acked)
			return;
	}
	grow_linear(tp, tp->snd_cwnd, acked);
}

/* Multiplicative decrease: half the window, never below two segments. */
SEC("struct_ops/tcpxi_reno_ssthresh")
u32 BPF_PROG(tcpxi_reno_ssthresh, struct sock *sk)
{
	u32 half = tcp_sk(sk)->snd_cwnd >> 1;

	return half > 2 ? half : 2;
}

/* The loss was spurious: return to the window from before the reduction. */
SEC("struct_ops/tcpxi_reno_undo_cwnd")
u32 BPF_PROG(tcpxi_reno_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return tp->snd_cwnd > tp->prior_cwnd ? tp->snd_cwnd : tp->prior_cwnd;
}

SEC(".struct_ops")
struct tcp_congestion_ops tcpxi_reno = {
	.ssthresh	= (void *)tcpxi_reno_ssthresh,
	.cong_avoid	= (void *)tcpxi_reno_cong_avoid,
	.undo_cwnd	= (void *)tcpxi_reno_undo_cwnd,
	.name		= "tcpxi_reno",
};

char LICENSE[] SEC("license") = "Dual BSD/GPL";
