// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The tune plugin, observed on real connections: getsockopt, TCP_INFO, and the wire.
#include <gtest/gtest.h>

#include <algorithm>

#include "kernel_test.hpp"
#include "tcp_probe.hpp"

namespace tcpxi::test {
namespace {

class TuneTest : public KernelTest {};

uint64_t counter(Tcpxi &tcpxi, const std::string &plugin, const std::string &name)
{
	for (const auto &att : tcpxi.status().attachments)
		if (att.plugin == plugin)
			for (const auto &c : att.counters)
				if (c.name == name)
					return c.value;
	return UINT64_MAX;
}

const std::vector<std::string> kEverySocketSetting = {
	"init_cwnd=20",       "nodelay=on",           "keepalive=on",          "keepalive_idle_s=77",
	"keepalive_intvl_s=11", "keepalive_cnt=4",    "user_timeout_ms=12345", "max_pacing_rate=1250000",
	"notsent_lowat=16384", "rto_min_ms=50",       "dscp=10"};

void expect_tuned(std::map<std::string, std::string> &s, const std::string &tos_key, bool check_rto = true)
{
	EXPECT_EQ(s["snd_cwnd"], "20");
	EXPECT_EQ(s["nodelay"], "1");
	EXPECT_EQ(s["keepalive"], "1");
	EXPECT_EQ(s["keepidle"], "77");
	EXPECT_EQ(s["keepintvl"], "11");
	EXPECT_EQ(s["keepcnt"], "4");
	EXPECT_EQ(s["user_timeout"], "12345");
	EXPECT_EQ(s["max_pacing_rate"], "1250000");
	EXPECT_EQ(s["notsent_lowat"], "16384");
	EXPECT_EQ(s[tos_key], std::to_string(10 << 2));
	if (!check_rto)
		return;
	// Loopback RTT is ~0, so the RTO sits at its minimum: 50 ms, not the default 200 ms.
	EXPECT_GE(std::stoul(s["rto"]), 50000u);
	EXPECT_LT(std::stoul(s["rto"]), 100000u);
}

void expect_defaults(std::map<std::string, std::string> &s, const std::string &tos_key)
{
	EXPECT_EQ(s["snd_cwnd"], "10");
	EXPECT_EQ(s["nodelay"], "0");
	EXPECT_EQ(s["keepalive"], "0");
	EXPECT_EQ(s["user_timeout"], "0");
	EXPECT_EQ(s[tos_key], "0");
	EXPECT_GE(std::stoul(s["rto"]), 200000u);
}

TEST_F(TuneTest, ActiveOpenInCgroupGetsEverySettingIPv4)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "tune", kEverySocketSetting);

	auto conn = connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false);
	ASSERT_EQ(conn.client.count("error"), 0u) << conn.client["error"];
	expect_tuned(conn.client, "tos");
	// The listener is outside the cgroup: its end keeps the kernel's defaults.
	expect_defaults(conn.server, "tos");
	EXPECT_EQ(counter(inst.tcpxi(), "tune", "conns_tuned"), 1u);
	EXPECT_EQ(counter(inst.tcpxi(), "tune", "setsockopt_errors"), 0u);
}

TEST_F(TuneTest, PassiveOpenInCgroupGetsEverySettingIPv6)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "tune", kEverySocketSetting);

	auto conn = connect_once(Place{cg.path()}, Place{}, "::1", true);
	ASSERT_EQ(conn.server.count("error"), 0u) << conn.server["error"];
	// A passive end computes its first RTO from the handshake, before it is established
	// and tuned; rto_min shapes the RTOs after that, which this connection never sends.
	expect_tuned(conn.server, "tclass", false);
	expect_defaults(conn.client, "tclass");
}

TEST_F(TuneTest, CwndClampBoundsBulkTransfer)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "tune", {"cwnd_clamp=6"});
	auto clamped = connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false, 8 << 20);
	auto free_running = connect_once(Place{}, Place{}, "127.0.0.1", false, 8 << 20);
	EXPECT_EQ(clamped.server["received"], std::to_string(8 << 20));
	EXPECT_LE(std::stoul(clamped.client["snd_cwnd"]), 6u);
	EXPECT_GT(std::stoul(free_running.client["snd_cwnd"]), 6u);
}

TEST_F(TuneTest, DelayedAckTimeIsBounded)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "tune", {"delack_max_ms=12"});
	// The receiver is in the cgroup; tcpi_ato is its delayed-ACK timeout.
	auto tuned = exchange_small_messages(Place{cg.path()}, Place{}, "127.0.0.1", false, 10);
	auto plain = exchange_small_messages(Place{}, Place{}, "127.0.0.1", false, 10);
	ASSERT_EQ(tuned.server["received"], "1000") << tuned.server["error"];
	EXPECT_EQ(tuned.server["ato"], "12000");
	EXPECT_GT(std::stoul(plain.server["ato"]), 12000u) << "the kernel's own bound is 40 ms or more";
}

TEST_F(TuneTest, SynTimeoutIsTheFirstRto)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	ScopedVethPeer peer;
	// Nobody owns .3 on the link: the SYN is never answered and the socket stays in
	// SYN-SENT, where tcpi_rto is the SYN timeout the plugin chose.
	std::string dead = peer.local_addr(false);
	dead.back() = '3';
	auto before = syn_sent_facts(Place{cg.path()}, dead, false);
	inst.tcpxi().attach(cg.relative(), "tune", {"syn_rto_ms=500"});
	auto tuned = syn_sent_facts(Place{cg.path()}, dead, false);
	EXPECT_EQ(before["state"], "2"); // TCP_SYN_SENT
	EXPECT_EQ(before["rto"], "1000000");
	EXPECT_EQ(tuned["state"], "2");
	EXPECT_EQ(tuned["rto"], "500000");
	EXPECT_EQ(counter(inst.tcpxi(), "tune", "syn_rto_set"), 1u);
}

class TuneWireTest : public KernelTest, public testing::WithParamInterface<bool> {};

// What the SYN carries on a veth link: DSCP, the initial receive window, ECN setup.
TEST_P(TuneWireTest, SynCarriesDscpWindowAndEcn)
{
	const bool v6 = GetParam();
	ScopedCgroup cg;
	ScopedInstance inst;
	ScopedVethPeer peer;
	const unsigned mss = v6 ? 1440 : 1460;
	auto syn_of = [&](const std::vector<Segment> &segments) {
		auto it = std::find_if(segments.begin(), segments.end(),
				       [](const Segment &s) { return (s.flags & 0x12) == 0x02; });
		EXPECT_NE(it, segments.end()) << "no SYN captured";
		return it == segments.end() ? Segment{} : *it;
	};
	auto syn_ack_of = [&](const std::vector<Segment> &segments) {
		auto it = std::find_if(segments.begin(), segments.end(),
				       [](const Segment &s) { return (s.flags & 0x12) == 0x12; });
		return it == segments.end() ? Segment{} : *it;
	};

	Segment plain_syn;
	{
		Capture capture(peer.local_if());
		auto conn = connect_once(Place{"", peer.netns()}, Place{cg.path()}, peer.peer_addr(v6), v6);
		ASSERT_EQ(conn.client.count("error"), 0u) << conn.client["error"];
		plain_syn = syn_of(capture.segments());
	}
	inst.tcpxi().attach(cg.relative(), "tune", {"dscp=46", "init_rwnd=10", "ecn=on"});
	Capture capture(peer.local_if());
	auto conn = connect_once(Place{"", peer.netns()}, Place{cg.path()}, peer.peer_addr(v6), v6);
	ASSERT_EQ(conn.client.count("error"), 0u) << conn.client["error"];
	auto segments = capture.segments();
	Segment syn = syn_of(segments);
	Segment syn_ack = syn_ack_of(segments);

	EXPECT_EQ(plain_syn.dscp, 0);
	EXPECT_EQ(plain_syn.flags & 0xc0, 0) << "ECE/CWR without the plugin";
	EXPECT_GT(plain_syn.window, 10 * mss);

	EXPECT_EQ(syn.dscp, 46);
	EXPECT_EQ(syn.window, 10 * mss);
	EXPECT_EQ(syn.flags & 0xc0, 0xc0) << "an ECN-setup SYN carries ECE and CWR";
	// The server is outside the cgroup: its SYN-ACK is unmarked.
	EXPECT_EQ(syn_ack.dscp, 0);
	EXPECT_EQ(counter(inst.tcpxi(), "tune", "ecn_requested"), 1u);
	EXPECT_EQ(counter(inst.tcpxi(), "tune", "rwnd_set"), 1u);
}

INSTANTIATE_TEST_SUITE_P(IPv4AndIPv6, TuneWireTest, testing::Values(false, true),
			 [](const auto &info) { return info.param ? "IPv6" : "IPv4"; });

} // namespace
} // namespace tcpxi::test
