// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Congestion controls: what the socket really got (TCP_CONGESTION), registration
// reference-counted across cgroups, and sockets that outlive the registration.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "kernel_test.hpp"
#include "tcp_probe.hpp"

namespace tcpxi::test {
namespace {

class CcTest : public KernelTest {};

bool available(const std::string &algorithm)
{
	std::ifstream file("/proc/sys/net/ipv4/tcp_available_congestion_control");
	std::string name;
	while (file >> name)
		if (name == algorithm)
			return true;
	return false;
}

std::string joined(const Report &report)
{
	std::string text;
	for (const auto &line : report.lines)
		text += line + "\n";
	return text;
}

class TcpxiAlgorithmTest : public KernelTest,
			   public testing::WithParamInterface<std::tuple<std::string, bool>> {};

TEST_P(TcpxiAlgorithmTest, SocketsInTheCgroupGetIt)
{
	const auto &[plugin, v6] = GetParam();
	ScopedCgroup cg;
	ScopedInstance inst;
	const std::string algorithm = inst.tcpxi().algorithm_name(plugin);
	ASSERT_FALSE(available(algorithm));

	Report report = inst.tcpxi().attach(cg.relative(), plugin, {});
	EXPECT_NE(joined(report).find("registered congestion control " + algorithm), std::string::npos);
	EXPECT_TRUE(available(algorithm));

	const size_t bytes = 4 << 20;
	auto conn = connect_once(Place{}, Place{cg.path()}, v6 ? "::1" : "127.0.0.1", v6, bytes);
	ASSERT_EQ(conn.client.count("error"), 0u) << conn.client["error"];
	EXPECT_EQ(conn.client["cc"], algorithm);
	EXPECT_NE(conn.server["cc"], algorithm) << "the listener is outside the cgroup";
	EXPECT_EQ(conn.server["received"], std::to_string(bytes)) << "the BPF algorithm carried the data";

	Status status = inst.tcpxi().status();
	ASSERT_EQ(status.congestion_controls.size(), 1u);
	EXPECT_EQ(status.congestion_controls[0].algorithm, algorithm);
	EXPECT_EQ(status.congestion_controls[0].cgroups, 1u);

	report = inst.tcpxi().detach(cg.relative(), plugin);
	EXPECT_NE(joined(report).find("unregistered congestion control " + algorithm), std::string::npos);
	EXPECT_FALSE(available(algorithm));
	auto after = connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false);
	EXPECT_NE(after.client["cc"], algorithm);
}

INSTANTIATE_TEST_SUITE_P(RenoAndCubic, TcpxiAlgorithmTest,
			 testing::Combine(testing::Values("reno", "cubic"), testing::Bool()),
			 [](const auto &info) {
				 return std::get<0>(info.param) + (std::get<1>(info.param) ? "_IPv6" : "_IPv4");
			 });

// Kernels before 6.4 have no struct_ops links: tcpxi registers the legacy way there.
// The same path is forced here, on a kernel that has both.
TEST_F(CcTest, LegacyRegistrationWorksAndUnregisters)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	const std::string algorithm = inst.tcpxi().algorithm_name("reno");
	setenv("TCPXI_STRUCT_OPS", "legacy", 1);
	try {
		inst.tcpxi().attach(cg.relative(), "reno", {});
	} catch (...) {
		unsetenv("TCPXI_STRUCT_OPS");
		throw;
	}
	unsetenv("TCPXI_STRUCT_OPS");
	Status status = inst.tcpxi().status();
	ASSERT_EQ(status.congestion_controls.size(), 1u);
	EXPECT_EQ(status.congestion_controls[0].mechanism, "legacy registration");
	EXPECT_EQ(status.congestion_controls[0].link_id, 0u);
	EXPECT_EQ(connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false, 1 << 20).client["cc"], algorithm);
	inst.tcpxi().detach(cg.relative(), "reno");
	EXPECT_FALSE(available(algorithm));
}

TEST_F(CcTest, SelectorGivesAKernelAlgorithm)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	// Pick one that is not the system default, so the test can tell them apart.
	std::string def;
	std::ifstream("/proc/sys/net/ipv4/tcp_congestion_control") >> def;
	const std::string algorithm = def == "reno" ? "cubic" : "reno";
	inst.tcpxi().attach(cg.relative(), "cc", {"algorithm=" + algorithm});
	auto conn = connect_once(Place{cg.path()}, Place{cg.path()}, "127.0.0.1", false);
	EXPECT_EQ(conn.client["cc"], algorithm);
	EXPECT_EQ(conn.server["cc"], algorithm) << "accepted sockets get it too";
	EXPECT_TRUE(inst.tcpxi().status().congestion_controls.empty()) << "nothing registered for a kernel algorithm";
}

TEST_F(CcTest, RegistrationIsSharedAndCountedAcrossCgroups)
{
	ScopedCgroup a, b;
	ScopedInstance inst;
	const std::string algorithm = inst.tcpxi().algorithm_name("cubic");
	inst.tcpxi().attach(a.relative(), "cubic", {});
	inst.tcpxi().attach(b.relative(), "cubic", {});
	Status status = inst.tcpxi().status();
	ASSERT_EQ(status.congestion_controls.size(), 1u);
	EXPECT_EQ(status.congestion_controls[0].cgroups, 2u);

	inst.tcpxi().detach(a.relative(), "cubic");
	EXPECT_TRUE(available(algorithm)) << "b still uses it";
	EXPECT_EQ(connect_once(Place{}, Place{b.path()}, "127.0.0.1", false).client["cc"], algorithm);
	inst.tcpxi().detach(b.relative(), "cubic");
	EXPECT_FALSE(available(algorithm));
}

TEST_F(CcTest, ChildCgroupChoiceWinsOverTheParents)
{
	ScopedCgroup parent;
	ScopedCgroup child(parent.relative());
	ScopedInstance inst;
	inst.tcpxi().attach(parent.relative(), "cc", {"algorithm=reno"});
	inst.tcpxi().attach(child.relative(), "cubic", {});
	EXPECT_EQ(connect_once(Place{}, Place{child.path()}, "127.0.0.1", false).client["cc"],
		  inst.tcpxi().algorithm_name("cubic"));
	EXPECT_EQ(connect_once(Place{}, Place{parent.path()}, "127.0.0.1", false).client["cc"], "reno");
}

TEST_F(CcTest, RegistrationOfARemovedCgroupIsReleasedOnDetach)
{
	ScopedInstance inst;
	const std::string algorithm = inst.tcpxi().algorithm_name("cubic");
	uint64_t id = 0;
	{
		ScopedCgroup cg;
		id = cg.id();
		inst.tcpxi().attach(cg.relative(), "cubic", {});
	} // removed with the selector still attached: its storage (the algorithm) is gone
	EXPECT_TRUE(available(algorithm));
	inst.tcpxi().detach_all(std::to_string(id));
	EXPECT_FALSE(available(algorithm));
	EXPECT_TRUE(inst.tcpxi().status().congestion_controls.empty());
}

TEST_F(CcTest, SetSwitchesAlgorithmAndReleasesTheOldOne)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	const std::string cubic = inst.tcpxi().algorithm_name("cubic");
	const std::string reno = inst.tcpxi().algorithm_name("reno");
	inst.tcpxi().attach(cg.relative(), "cubic", {});
	Report report = inst.tcpxi().set(cg.relative(), "cc", {"algorithm=" + reno});
	EXPECT_TRUE(available(reno));
	EXPECT_FALSE(available(cubic)) << joined(report);
	EXPECT_EQ(connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false).client["cc"], reno);
}

TEST_F(CcTest, LiveConnectionsKeepTheAlgorithmAfterItIsUnregistered)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	const std::string algorithm = inst.tcpxi().algorithm_name("cubic");
	inst.tcpxi().attach(cg.relative(), "cubic", {});
	uint32_t map_id = inst.tcpxi().status().congestion_controls.at(0).map_id;
	{
		auto conn = open_connection(Place{}, Place{cg.path()}, "127.0.0.1", false);
		ASSERT_EQ(conn.client_facts["cc"], algorithm) << conn.client_facts["error"];

		Report report = inst.tcpxi().detach(cg.relative(), "cubic");
		EXPECT_NE(joined(report).find("keep it until they close"), std::string::npos) << joined(report);
		EXPECT_FALSE(available(algorithm)) << "new sockets can no longer choose it";
		// The kernel still shows the open connection running it.
		// The test's own netns holds only this connection.
		std::string ss = run("ss -tinH state established");
		EXPECT_NE(ss.find(algorithm), std::string::npos) << ss;
		int map = bpf_map_get_fd_by_id(map_id);
		EXPECT_GE(map, 0) << "sockets hold the struct_ops map";
		if (map >= 0)
			close(map);
	} // both ends close here
	bool freed = false;
	for (int i = 0; i < 300 && !freed; i++) {
		int map = bpf_map_get_fd_by_id(map_id);
		freed = map < 0;
		if (map >= 0)
			close(map);
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	EXPECT_TRUE(freed) << "the algorithm is freed once its last connection is gone";
}

} // namespace
} // namespace tcpxi::test
