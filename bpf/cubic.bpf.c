// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cubic: CUBIC congestion control (RFC 9438) with HyStart, as a struct_ops plugin.
 *
 * After a loss the window follows W(t) = C * (t - K)^3 + W_max: it climbs quickly
 * back towards the window where the loss happened, flattens there, then probes
 * beyond it ever faster. Where Reno would grow faster (short RTTs, small windows)
 * the window follows Reno's estimate instead. Slow start ends at HyStart's first
 * sign of a filling queue (ACK trains stretching to half the minimum RTT, or the
 * RTT rising) rather than at the first loss.
 *
 * Arithmetic is fixed point, as in the kernel's cubic: time in 2^-10 s, beta and C
 * scaled by 1024, K from an integer cube root. Every timestamp is tp->tcp_mstamp
 * (microseconds): the kernel refreshes it when an ACK arrives and before it
 * transmits, and it is independent of HZ.
 *
 * Only ops whose signature is the same on every kernel tcpxi supports (6.1 on) are
 * implemented; cong_control changed in 6.10 and is left out. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <tcpxi/plugin.h>

TCPXI_PLUGIN("cubic", TCPXI_KIND_CONGESTION, "1.0.0",
	     "CUBIC congestion control (RFC 9438) with HyStart slow-start exit");

#define USEC_PER_SEC		1000000ULL

#define SCALE			1024	/* fixed point for beta, alpha and C */
#define BETA			717	/* beta_cubic = 0.7: window kept after a loss */
/* alpha_cubic = 3 * (1 - beta) / (1 + beta): Reno-friendly growth per RTT */
#define ALPHA			542
#define CUBE_C			410	/* C = 0.4 segments/s^3 */
#define TIME_SHIFT		10	/* the curve's clock ticks 2^-10 s */
/* K^3 = (W_max - cwnd) / C, with K in ticks: (W_max - cwnd) * 2^30 * SCALE / CUBE_C */
#define CUBE_FACTOR		((1ULL << (3 * TIME_SHIFT + 10)) / CUBE_C)
/* |t - K| beyond 2^18 ticks (256 s) would overflow C * |t - K|^3 in 64 bits. */
#define MAX_OFFS		(1ULL << 18)

#define HYSTART_LOW_WINDOW	16	/* segments: below this, slow start is cheap */
#define HYSTART_MIN_SAMPLES	8	/* RTT samples per round before judging it */
#define HYSTART_DELAY_MIN	4000	/* us: RTT rise that ends slow start, floor */
#define HYSTART_DELAY_MAX	16000	/* us: ... and ceiling */
#define HYSTART_TRAIN_GAP	2000	/* us: ACKs closer than this form a train */

/* RFC 9438 names in parentheses. */
struct cubic {
	u64	epoch_start;	/* start of the avoidance epoch (us); 0: none yet */
	u64	acked_at;	/* when data was last ACKed (us), to measure idle time */
	u64	round_start;	/* HyStart: when the current round began (us) */
	u64	train_last;	/* HyStart: last ACK of the current ACK train (us) */
	u32	cnt;		/* segments to ACK per one-segment increase */
	u32	w_max;		/* window the curve plateaus at (W_max) */
	u32	cwnd_prior;	/* window when the last loss was detected (cwnd_prior) */
	u32	undo_w_max;	/* w_max and cwnd_prior before the last reduction, */
	u32	undo_cwnd_prior; /* to restore if it proves spurious */
	u32	origin;		/* window at the plateau, this epoch */
	u32	k;		/* time from epoch start to the plateau, ticks (K) */
	u32	w_est;		/* window Reno would have by now (W_est) */
	u32	ack_cnt;	/* segments ACKed towards the next W_est increase */
	u32	delay_min;	/* smallest RTT seen (us) */
	u32	end_seq;	/* HyStart: the round ends once this is ACKed */
	u32	curr_rtt;	/* HyStart: smallest RTT of this round (us) */
	u8	samples;	/* HyStart: RTT samples taken this round */
	u8	found;		/* HyStart: slow start has been ended */
};

_Static_assert(sizeof(struct cubic) <= 13 * sizeof(u64), "must fit in icsk_ca_priv");

static __always_inline struct tcp_sock *tcp_sk(struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

static __always_inline struct cubic *ca(struct sock *sk)
{
	return (void *)((struct inet_connection_sock *)sk)->icsk_ca_priv;
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
	/* Credit earned against a larger w is worth one segment, not a burst. */
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

/* 1-based index of the highest set bit; 0 for 0. */
static __always_inline u32 bit_length(u64 x)
{
	u32 n = 64;

	if (!x)
		return 0;
	if (!(x >> 32)) {
		x <<= 32;
		n -= 32;
	}
	if (!(x >> 48)) {
		x <<= 16;
		n -= 16;
	}
	if (!(x >> 56)) {
		x <<= 8;
		n -= 8;
	}
	if (!(x >> 60)) {
		x <<= 4;
		n -= 4;
	}
	if (!(x >> 62)) {
		x <<= 2;
		n -= 2;
	}
	if (!(x >> 63))
		n -= 1;
	return n;
}

/* floor(cbrt(a)). Newton's step x' = (2x + a / x^2) / 3 never undershoots the root
 * (AM-GM), so started from a power of two above it the integer iteration falls
 * monotonically onto it; from that start 7 steps suffice for any 64-bit a. Runs
 * once per congestion event. */
static __always_inline u32 cubic_root(u64 a)
{
	u64 x, next;
	int i;

	if (!a)
		return 0;
	x = 1ULL << ((bit_length(a) + 2) / 3);
	for (i = 0; i < 8; i++) {
		next = (2 * x + a / (x * x)) / 3;
		if (next >= x)
			break;
		x = next;
	}
	return x;
}

static __always_inline void hystart_new_round(struct tcp_sock *tp, struct cubic *c)
{
	c->round_start = tp->tcp_mstamp;
	c->train_last = tp->tcp_mstamp;
	c->end_seq = tp->snd_nxt;
	c->curr_rtt = ~0U;
	c->samples = 0;
}

static __always_inline void cubic_reset(struct tcp_sock *tp, struct cubic *c)
{
	__builtin_memset(c, 0, sizeof(*c));
	hystart_new_round(tp, c);
}

/* TSO/GRO deliver ACKs in bursts, which can look like a train that ends too
 * early: allow for sending four GSO packets at the pacing rate, at most 1 ms. */
static __always_inline u32 hystart_ack_delay(struct sock *sk)
{
	u64 rate = sk->sk_pacing_rate;
	u64 us;

	if (!rate)
		return 0;
	us = (u64)sk->sk_gso_max_size * 4 * USEC_PER_SEC / rate;
	return us < 1000 ? us : 1000;
}

static __always_inline void hystart_exit(struct tcp_sock *tp, struct cubic *c)
{
	c->found = 1;
	tp->snd_ssthresh = tp->snd_cwnd;
}

static __always_inline void hystart_update(struct sock *sk, struct tcp_sock *tp,
					   struct cubic *c, u32 delay)
{
	u64 now = tp->tcp_mstamp;
	u32 thresh;

	if ((s32)(tp->snd_una - c->end_seq) > 0)
		hystart_new_round(tp, c);

	/* ACK train: a round's back-to-back ACKs span cwnd / bottleneck rate. Once
	 * that passes delay_min / 2, the next round, twice as large, fills the pipe.
	 * Paced sending stretches the train by itself: then wait for a whole
	 * delay_min. */
	if (now - c->train_last <= HYSTART_TRAIN_GAP) {
		c->train_last = now;
		thresh = c->delay_min + hystart_ack_delay(sk);
		if (sk->sk_pacing_status == SK_PACING_NONE)
			thresh >>= 1;
		if (now - c->round_start > thresh) {
			hystart_exit(tp, c);
			return;
		}
	}

	/* Delay increase: the round's best RTT clearly above the path's minimum
	 * means a queue is building. */
	if (c->curr_rtt > delay)
		c->curr_rtt = delay;
	if (c->samples < HYSTART_MIN_SAMPLES) {
		c->samples++;
	} else {
		thresh = c->delay_min >> 3;
		if (thresh < HYSTART_DELAY_MIN)
			thresh = HYSTART_DELAY_MIN;
		if (thresh > HYSTART_DELAY_MAX)
			thresh = HYSTART_DELAY_MAX;
		if (c->curr_rtt > c->delay_min + thresh)
			hystart_exit(tp, c);
	}
}

/* Sets c->cnt for the next ACK: how many segments must be ACKed per one-segment
 * increase so that cwnd reaches the curve's value one RTT from now. */
static __always_inline void cubic_update(struct tcp_sock *tp, struct cubic *c, u32 acked)
{
	u32 cwnd = tp->snd_cwnd;
	u64 now = tp->tcp_mstamp;
	u64 elapsed, t, offs, delta, target, cnt, per_inc, n;
	u32 alpha;

	c->ack_cnt += acked;

	if (!c->epoch_start) {
		c->epoch_start = now ? now : 1;
		c->ack_cnt = acked;
		c->w_est = cwnd;
		if (c->w_max > cwnd) {
			c->k = cubic_root(CUBE_FACTOR * (c->w_max - cwnd));
			c->origin = c->w_max;
		} else {
			/* Beyond the old maximum (or none yet): start probing at once. */
			c->k = 0;
			c->origin = cwnd;
		}
	}

	/* Aim at W_cubic(t + RTT) (RFC 9438 section 4.2). */
	elapsed = now > c->epoch_start ? now - c->epoch_start : 0;
	t = ((elapsed + c->delay_min) << TIME_SHIFT) / USEC_PER_SEC;
	offs = t < c->k ? c->k - t : t - c->k;
	if (offs > MAX_OFFS)
		offs = MAX_OFFS;
	delta = (CUBE_C * offs * offs * offs) >> (3 * TIME_SHIFT + 10);
	if (t < c->k)
		target = c->origin > delta ? c->origin - delta : 0;
	else
		target = c->origin + delta;

	if (target > cwnd)
		cnt = cwnd / (target - cwnd);
	else
		cnt = 100ULL * cwnd; /* on or above the curve: barely grow */

	/* No loss yet, so no W_max to aim for: grow at least 5% per RTT. */
	if (!c->w_max && cnt > 20)
		cnt = 20;

	/* Reno-friendly region (RFC 9438 section 4.3): W_est grows by alpha per RTT,
	 * by 1 once it has passed the window of the last loss. */
	alpha = c->w_est >= c->cwnd_prior ? SCALE : ALPHA;
	per_inc = (u64)cwnd * SCALE / alpha;
	if (!per_inc)
		per_inc = 1;
	if (c->ack_cnt >= per_inc) {
		n = c->ack_cnt / per_inc;
		c->w_est += n;
		c->ack_cnt -= n * per_inc;
	}
	if (c->w_est > cwnd) {
		u64 reno_cnt = cwnd / (c->w_est - cwnd);

		if (cnt > reno_cnt)
			cnt = reno_cnt;
	}

	/* Never more than 1.5x per RTT, however far below the curve. */
	if (cnt < 2)
		cnt = 2;
	c->cnt = cnt > 0xffffffffULL ? 0xffffffff : cnt;
}

SEC("struct_ops/tcpxi_cubic_init")
void BPF_PROG(tcpxi_cubic_init, struct sock *sk)
{
	cubic_reset(tcp_sk(sk), ca(sk));
}

SEC("struct_ops/tcpxi_cubic_cong_avoid")
void BPF_PROG(tcpxi_cubic_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct cubic *c = ca(sk);

	if (!cwnd_limited(tp))
		return;
	if (in_slow_start(tp)) {
		acked = slow_start(tp, acked);
		if (!acked)
			return;
	}
	cubic_update(tp, c, acked);
	grow_linear(tp, c->cnt, acked);
}

/* A loss ends the epoch: remember where it happened (W_max), lowered further if
 * the window had not even regained the previous maximum, so that a newcomer gets
 * bandwidth (fast convergence, section 4.7), and keep beta of the window. */
SEC("struct_ops/tcpxi_cubic_ssthresh")
u32 BPF_PROG(tcpxi_cubic_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	struct cubic *c = ca(sk);
	u32 cwnd = tp->snd_cwnd;
	u32 ssthresh;

	c->epoch_start = 0;
	c->undo_w_max = c->w_max;
	c->undo_cwnd_prior = c->cwnd_prior;
	c->cwnd_prior = cwnd;
	if (cwnd < c->w_max)
		c->w_max = (u64)cwnd * (SCALE + BETA) / (2 * SCALE);
	else
		c->w_max = cwnd;

	ssthresh = (u64)cwnd * BETA / SCALE;
	return ssthresh > 2 ? ssthresh : 2;
}

/* The loss was spurious (section 4.9): take back the reduction. The next ACK
 * starts a fresh epoch from the restored window. */
SEC("struct_ops/tcpxi_cubic_undo_cwnd")
u32 BPF_PROG(tcpxi_cubic_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	struct cubic *c = ca(sk);

	c->w_max = c->undo_w_max;
	c->cwnd_prior = c->undo_cwnd_prior;
	c->epoch_start = 0;
	return tp->snd_cwnd > tp->prior_cwnd ? tp->snd_cwnd : tp->prior_cwnd;
}

/* After a retransmission timeout the old curve no longer describes the path:
 * start over, HyStart included. */
SEC("struct_ops/tcpxi_cubic_set_state")
void BPF_PROG(tcpxi_cubic_set_state, struct sock *sk, u8 new_state)
{
	if (new_state == TCP_CA_Loss)
		cubic_reset(tcp_sk(sk), ca(sk));
}

/* The curve is a function of time; time spent idle (application limited) must
 * not count, or the first ACKs after a pause would jump the window. */
SEC("struct_ops/tcpxi_cubic_cwnd_event")
void BPF_PROG(tcpxi_cubic_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct cubic *c = ca(sk);
	u64 now = tp->tcp_mstamp;

	if (ev != CA_EVENT_TX_START || !c->epoch_start || !c->acked_at)
		return;
	if ((s64)(now - c->acked_at) <= 0)
		return;
	c->epoch_start += now - c->acked_at;
	if ((s64)(c->epoch_start - now) > 0)
		c->epoch_start = now;
}

SEC("struct_ops/tcpxi_cubic_pkts_acked")
void BPF_PROG(tcpxi_cubic_pkts_acked, struct sock *sk, const struct ack_sample *sample)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct cubic *c = ca(sk);
	u64 now = tp->tcp_mstamp;
	s32 rtt = sample->rtt_us;
	u32 delay;

	c->acked_at = now;

	/* Duplicate ACKs carry no RTT sample. */
	if (rtt < 0)
		return;
	/* Samples right after a reduction still see the queue of before it. */
	if (c->epoch_start && now - c->epoch_start < USEC_PER_SEC)
		return;

	delay = rtt ? rtt : 1;
	if (!c->delay_min || delay < c->delay_min)
		c->delay_min = delay;

	if (!c->found && in_slow_start(tp) && tp->snd_cwnd >= HYSTART_LOW_WINDOW)
		hystart_update(sk, tp, c, delay);
}

SEC(".struct_ops")
struct tcp_congestion_ops tcpxi_cubic = {
	.init		= (void *)tcpxi_cubic_init,
	.ssthresh	= (void *)tcpxi_cubic_ssthresh,
	.cong_avoid	= (void *)tcpxi_cubic_cong_avoid,
	.undo_cwnd	= (void *)tcpxi_cubic_undo_cwnd,
	.set_state	= (void *)tcpxi_cubic_set_state,
	.cwnd_event	= (void *)tcpxi_cubic_cwnd_event,
	.pkts_acked	= (void *)tcpxi_cubic_pkts_acked,
	.name		= "tcpxi_cubic",
};

char LICENSE[] SEC("license") = "Dual BSD/GPL";
