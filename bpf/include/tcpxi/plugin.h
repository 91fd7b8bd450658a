/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcpxi plugin SDK: the manifest, per-cgroup parameters and per-cgroup counters.
 *
 * A plugin declares what it is and what it can be tuned with; the tcpxi loader reads
 * the declaration from the object's ".tcpxi" section and the storage layout from BTF,
 * so the loader needs no plugin-specific code.
 *
 *   TCPXI_PLUGIN("tune", TCPXI_KIND_SOCKOPS, "1.0.0", "One-line description");
 *
 *   #define MY_PARAMS(P) \
 *       P(init_cwnd, u32, 1, 1024, "segments", "Initial congestion window")
 *   TCPXI_PARAMS(MY_PARAMS)
 *
 *   #define MY_COUNTERS(C) C(applied, "Connections the parameters were applied to")
 *   TCPXI_COUNTERS(MY_COUNTERS)
 *
 * In a sock_ops program:
 *   const struct tcpxi_params *p = tcpxi_params_get();
 *   if (tcpxi_param_set(p, init_cwnd)) ... p->init_cwnd ...
 *   tcpxi_count(applied);
 */
#ifndef TCPXI_PLUGIN_H
#define TCPXI_PLUGIN_H

#include <bpf/bpf_helpers.h>

#define TCPXI_KIND_SOCKOPS "sockops"
#define TCPXI_KIND_CONGESTION "congestion-control"

/* Longest string parameter, NUL included (a congestion-control name fits). */
#define TCPXI_STR_MAX 16

#define TCPXI__SECTION __attribute__((section(".tcpxi"), used))
#define TCPXI__CAT(a, b) a##b
#define TCPXI__XCAT(a, b) TCPXI__CAT(a, b)

/* Manifest records are NUL-terminated strings of '|'-separated fields. */
#define TCPXI_PLUGIN(name, kind, version, description)                                \
	static const char __tcpxi_manifest_plugin[] TCPXI__SECTION =                   \
		"plugin|" name "|" kind "|" version "|" description

/* Names a kernel feature the plugin cannot work without (see `tcpxi features`). */
#define TCPXI_REQUIRES(feature)                                                        \
	static const char TCPXI__XCAT(__tcpxi_manifest_req_, __LINE__)[] TCPXI__SECTION = \
		"requires|" feature

/* ---- parameters -------------------------------------------------------------------
 * Types: u32, u64, bool, str. Every parameter has a bit in `set`: a parameter nobody
 * set leaves the kernel's behaviour alone, so zeroed storage (a fresh attachment)
 * means "do nothing".
 */
#define TCPXI__FIELD_u32(n) __u32 n;
#define TCPXI__FIELD_bool(n) __u32 n;
#define TCPXI__FIELD_u64(n) __u64 n;
#define TCPXI__FIELD_str(n) char n[TCPXI_STR_MAX];

#define TCPXI__PARAM_INDEX(name, type, min, max, unit, desc) TCPXI_PARAM_##name,
#define TCPXI__PARAM_FIELD(name, type, min, max, unit, desc) TCPXI__FIELD_##type(name)
#define TCPXI__PARAM_RECORD(name, type, min, max, unit, desc)                          \
	static const char __tcpxi_manifest_param_##name[] TCPXI__SECTION =             \
		"param|" #name "|" #type "|" #min "|" #max "|" unit "|" desc;

#define TCPXI_PARAMS(LIST)                                                             \
	enum tcpxi_param_index { LIST(TCPXI__PARAM_INDEX) TCPXI__PARAM_COUNT };        \
	_Static_assert(TCPXI__PARAM_COUNT <= 63, "at most 63 parameters");            \
	struct tcpxi_params {                                                          \
		__u64 set; /* bit TCPXI_PARAM_<name>: the parameter was given */       \
		LIST(TCPXI__PARAM_FIELD)                                               \
	};                                                                             \
	LIST(TCPXI__PARAM_RECORD)                                                      \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);                             \
		__type(key, struct bpf_cgroup_storage_key);                            \
		__type(value, struct tcpxi_params);                                    \
	} tcpxi_params SEC(".maps");                                                   \
	static __always_inline const struct tcpxi_params *tcpxi_params_get(void)       \
	{                                                                              \
		return bpf_get_local_storage(&tcpxi_params, 0);                        \
	}

#define tcpxi_param_set(p, name) (((p)->set >> TCPXI_PARAM_##name) & 1)
#define tcpxi_param_bit(name) (1ULL << TCPXI_PARAM_##name)

/* ---- the most specific cgroup wins ---------------------------------------------------
 * A program attached to a cgroup also runs for its descendants, and the kernel runs a
 * child cgroup's programs before its parent's. When the same plugin is attached at
 * several levels, each parameter must come from the deepest attachment that sets it,
 * so every run applies only what no earlier (more specific) run of this plugin applied
 * to the connection. tcpxi_params_todo() returns those parameters and records them.
 * The record costs a socket-storage allocation per connection, so it is kept only
 * where it matters: the loader sets TCPXI_SET_NESTED in `set` of every attachment
 * that has another attachment of the same plugin above or below it.
 * Full sockets only: request sockets (SYN-ACK callbacks) have no socket storage; for
 * those callbacks a reply already written by an earlier program is the claim.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} tcpxi_applied SEC(".maps");

#define TCPXI_SET_NESTED (1ULL << 63)

/* `set` is the attachment's parameter word (p->set); `wanted`, the bits to apply now. */
static __always_inline __u64 tcpxi_params_todo(struct bpf_sock_ops *skops, __u64 set, __u64 wanted)
{
	struct bpf_sock *sk = skops->sk;
	__u64 *applied;
	__u64 todo;

	if (!(set & TCPXI_SET_NESTED) || !sk)
		return wanted;
	applied = bpf_sk_storage_get(&tcpxi_applied, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!applied)
		return wanted; /* no memory: better applied twice than not at all */
	todo = wanted & ~*applied;
	*applied |= todo;
	return todo;
}

/* ---- counters ---------------------------------------------------------------------
 * Per-CPU, per attachment: the data path never contends on a cache line.
 */
#define TCPXI__COUNTER_FIELD(name, desc) __u64 name;
#define TCPXI__COUNTER_RECORD(name, desc)                                              \
	static const char __tcpxi_manifest_counter_##name[] TCPXI__SECTION =           \
		"counter|" #name "|" desc;

#define TCPXI_COUNTERS(LIST)                                                           \
	struct tcpxi_counters {                                                        \
		LIST(TCPXI__COUNTER_FIELD)                                             \
	};                                                                             \
	LIST(TCPXI__COUNTER_RECORD)                                                    \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);                      \
		__type(key, struct bpf_cgroup_storage_key);                            \
		__type(value, struct tcpxi_counters);                                  \
	} tcpxi_counters SEC(".maps");

#define tcpxi_count(name)                                                              \
	do {                                                                           \
		struct tcpxi_counters *__c = bpf_get_local_storage(&tcpxi_counters, 0); \
		__c->name++;                                                           \
	} while (0)

#endif /* TCPXI_PLUGIN_H */
