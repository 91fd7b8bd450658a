// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The tcpxi command as users and scripts run it: exit codes, one-line errors, JSON,
// attachments that outlive the command, and bad input that changes nothing.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kernel_test.hpp"
#include "run_command.hpp"

namespace tcpxi::test {
namespace {

namespace fs = std::filesystem;

size_t prog_count(const ScopedCgroup &cg)
{
	int fd = open(cg.path().c_str(), O_RDONLY | O_DIRECTORY);
	uint32_t count = 0;
	uint32_t flags = 0;
	bpf_prog_query(fd, BPF_CGROUP_SOCK_OPS, 0, &flags, nullptr, &count);
	close(fd);
	return count;
}

// Every pin under the instance directory: the state a failed command must not change.
std::vector<std::string> pins_of(const ScopedInstance &inst)
{
	std::vector<std::string> pins;
	std::error_code ec;
	const std::string dir = "/sys/fs/bpf/" + inst.name();
	for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
		if (!it->is_directory())
			pins.push_back(it->path().string());
	std::sort(pins.begin(), pins.end());
	return pins;
}

bool one_line(const std::string &text)
{
	return !text.empty() && text.find('\n') == text.size() - 1;
}

TEST(CliNoRoot, PluginListAndShowInJson)
{
	auto list = run_tcpxi({"plugin", "list", "--json"});
	ASSERT_EQ(list.exit_code, 0) << list.err;
	auto plugins = nlohmann::json::parse(list.out);
	std::map<std::string, std::string> kinds;
	for (const auto &p : plugins)
		kinds[p["name"]] = p["kind"];
	EXPECT_EQ(kinds["tune"], "sockops");
	EXPECT_EQ(kinds["cc"], "sockops");
	EXPECT_EQ(kinds["reno"], "congestion-control");
	EXPECT_EQ(kinds["cubic"], "congestion-control");

	auto show = run_tcpxi({"plugin", "show", "tune", "-j"});
	ASSERT_EQ(show.exit_code, 0) << show.err;
	auto tune = nlohmann::json::parse(show.out);
	bool found = false;
	for (const auto &p : tune["params"])
		if (p["name"] == "init_cwnd") {
			found = true;
			EXPECT_EQ(p["type"], "u32");
			EXPECT_EQ(p["min"], 1);
			EXPECT_EQ(p["max"], 1024);
			EXPECT_EQ(p["unit"], "segments");
		}
	EXPECT_TRUE(found);
}

TEST(CliNoRoot, EveryCommandHasHelp)
{
	for (std::vector<std::string> args : {std::vector<std::string>{"--help"}, {"plugin", "--help"},
					      {"plugin", "list", "--help"}, {"plugin", "show", "--help"},
					      {"attach", "--help"}, {"detach", "--help"}, {"set", "--help"},
					      {"status", "--help"}}) {
		auto r = run_tcpxi(args);
		EXPECT_EQ(r.exit_code, 0) << args[0];
		EXPECT_NE(r.out.find("Usage"), std::string::npos) << args[0];
	}
	auto r = run_tcpxi({"frobnicate"});
	EXPECT_EQ(r.exit_code, 2);
}

class CliTest : public KernelTest {};

TEST_F(CliTest, AttachOutlivesTheCommandAndBpftoolSeesIt)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	auto r = run_tcpxi({"--instance", inst.name(), "attach", cg.relative(), "tune", "--set", "init_cwnd=20"});
	ASSERT_EQ(r.exit_code, 0) << r.err;

	// The command has exited; the kernel still runs the program on the cgroup.
	std::string tree = run("bpftool cgroup tree " + cg.path());
	EXPECT_NE(tree.find("tcpxi_tune"), std::string::npos) << tree;

	auto status = run_tcpxi({"--instance", inst.name(), "status", "--json"});
	ASSERT_EQ(status.exit_code, 0) << status.err;
	auto json = nlohmann::json::parse(status.out);
	ASSERT_EQ(json["attachments"].size(), 1u);
	const auto &att = json["attachments"][0];
	EXPECT_EQ(att["cgroup"], cg.relative());
	EXPECT_EQ(att["plugin"], "tune");
	EXPECT_EQ(att["params"]["init_cwnd"], "20");
	EXPECT_EQ(att["attached"], true);
	std::string links = run("bpftool link show id " + att["link_id"].dump());
	EXPECT_NE(links.find("prog " + att["prog_id"].dump()), std::string::npos) << links;
	EXPECT_NE(links.find("cgroup_id " + att["cgroup_id"].dump()), std::string::npos) << links;
	EXPECT_TRUE(json["congestion_controls"].is_array());
}

TEST_F(CliTest, CgroupByIdAndByAbsolutePath)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	auto r = run_tcpxi({"--instance", inst.name(), "attach", std::to_string(cg.id()), "tune", "-s", "nodelay=on"});
	ASSERT_EQ(r.exit_code, 0) << r.err;
	auto status = run_tcpxi({"--instance", inst.name(), "status", cg.path(), "-j"});
	ASSERT_EQ(status.exit_code, 0) << status.err;
	EXPECT_EQ(nlohmann::json::parse(status.out)["attachments"].size(), 1u);
	auto detach = run_tcpxi({"--instance", inst.name(), "detach", cg.path(), "--all"});
	EXPECT_EQ(detach.exit_code, 0) << detach.err;
	EXPECT_EQ(prog_count(cg), 0u);
}

TEST_F(CliTest, OptionsTakeOneValueEach)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	// --set before the positionals must not swallow them; --unset must not swallow
	// the KEY=VALUE that follows.
	auto attach = run_tcpxi({"--instance", inst.name(), "attach", "--set", "dscp=8", cg.relative(), "tune"});
	ASSERT_EQ(attach.exit_code, 0) << attach.err;
	auto set = run_tcpxi({"--instance", inst.name(), "set", cg.relative(), "tune", "--unset", "dscp", "nodelay=on"});
	ASSERT_EQ(set.exit_code, 0) << set.err;
	auto status = nlohmann::json::parse(run_tcpxi({"--instance", inst.name(), "status", "-j"}).out);
	EXPECT_EQ(status["attachments"][0]["params"], nlohmann::json({{"nodelay", "on"}}));
}

TEST_F(CliTest, EmptyStatusIsEmptyArrays)
{
	ScopedInstance inst;
	auto r = run_tcpxi({"--instance", inst.name(), "status", "--json"});
	ASSERT_EQ(r.exit_code, 0) << r.err;
	auto json = nlohmann::json::parse(r.out);
	EXPECT_EQ(json["attachments"], nlohmann::json::array());
	EXPECT_EQ(json["congestion_controls"], nlohmann::json::array());
}

struct BadInput {
	std::string name;
	std::vector<std::string> args; // "CG" is replaced by the test's cgroup
	int exit_code;
	std::string says;
};

void PrintTo(const BadInput &input, std::ostream *os)
{
	*os << input.name;
}

class CliBadInputTest : public KernelTest, public testing::WithParamInterface<BadInput> {};

TEST_P(CliBadInputTest, OneLineErrorAndNothingChanges)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	// Something attached already, so "unchanged" covers a populated state too.
	ASSERT_EQ(run_tcpxi({"--instance", inst.name(), "attach", cg.relative(), "tune", "-s", "nodelay=on"}).exit_code, 0);
	auto pins_before = pins_of(inst);
	size_t progs_before = prog_count(cg);

	std::vector<std::string> args{"--instance", inst.name()};
	for (const auto &a : GetParam().args)
		args.push_back(a == "CG" ? cg.relative() : a);
	auto r = run_tcpxi(args);
	EXPECT_EQ(r.exit_code, GetParam().exit_code) << r.err;
	EXPECT_TRUE(one_line(r.err)) << r.err;
	EXPECT_EQ(r.err.rfind("tcpxi: ", 0), 0u) << r.err;
	EXPECT_NE(r.err.find(GetParam().says), std::string::npos) << r.err;
	EXPECT_EQ(pins_of(inst), pins_before);
	EXPECT_EQ(prog_count(cg), progs_before);
}

INSTANTIATE_TEST_SUITE_P(
	Cases, CliBadInputTest,
	testing::Values(
		BadInput{"UnknownPlugin", {"attach", "CG", "nosuch"}, 2, "unknown plugin 'nosuch'"},
		BadInput{"UnknownParameter", {"attach", "CG", "cubic", "-s", "x=1"}, 2, "unknown parameter 'x'"},
		BadInput{"OutOfRange", {"attach", "CG", "cc", "-s", "algorithm=reno", "-s", "algorithm=x_y_z_0123456789"}, 2,
			 "wrong length"},
		BadInput{"ValueOutOfRange", {"set", "CG", "tune", "init_cwnd=0"}, 2, "out of range"},
		BadInput{"WrongType", {"set", "CG", "tune", "init_cwnd=lots"}, 2, "not a non-negative integer"},
		BadInput{"WrongBool", {"set", "CG", "tune", "nodelay=maybe"}, 2, "not a boolean"},
		BadInput{"NoEquals", {"set", "CG", "tune", "init_cwnd"}, 2, "write KEY=VALUE"},
		BadInput{"MissingCgroup", {"attach", "no/such/cgroup", "tune"}, 2, "not found"},
		BadInput{"NotACgroup", {"attach", "/tmp", "tune"}, 2, "is not a cgroup v2 directory"},
		BadInput{"UnknownCgroupId", {"attach", "999999999", "tune"}, 2, "no cgroup with id"},
		BadInput{"CcWithoutAlgorithm", {"attach", "CG", "cc"}, 2, "algorithm=NAME"},
		BadInput{"UnknownAlgorithm", {"attach", "CG", "cc", "-s", "algorithm=nosuch"}, 2, "unknown congestion control"},
		BadInput{"AlreadyAttached", {"attach", "CG", "tune"}, 3, "already attached"},
		BadInput{"NotAttached", {"set", "CG", "cc", "algorithm=reno"}, 3, "not attached"},
		BadInput{"DetachNotAttached", {"detach", "CG", "cubic"}, 3, "not attached"},
		BadInput{"BadInstance", {"--instance", "Bad.Name", "status"}, 2, "bad instance name"}),
	[](const auto &info) { return info.param.name; });

TEST_F(CliTest, CgroupV1PathIsRefused)
{
	std::string v1;
	for (const char *candidate : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/systemd"})
		if (fs::is_directory(candidate) && candidate != cgroup2_mount())
			v1 = candidate;
	if (v1.empty() || v1 == cgroup2_mount())
		GTEST_SKIP() << "no cgroup v1 hierarchy mounted on this host";
	ScopedInstance inst;
	auto r = run_tcpxi({"--instance", inst.name(), "attach", v1, "tune"});
	EXPECT_EQ(r.exit_code, 2) << r.err;
	EXPECT_NE(r.err.find("cgroup v1"), std::string::npos) << r.err;
	EXPECT_TRUE(pins_of(inst).empty());
}

TEST_F(CliTest, NotRootIsRefusedWithTheFix)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	auto r = run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", TCPXI_BINARY, "--instance",
			      inst.name(), "attach", cg.relative(), "tune"});
	EXPECT_EQ(r.exit_code, 4) << r.err;
	EXPECT_NE(r.err.find("needs root"), std::string::npos) << r.err;
	EXPECT_EQ(prog_count(cg), 0u);
}

TEST_F(CliTest, AnotherTcpxiHoldingTheLockMakesABusyError)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	fs::create_directories(inst.tcpxi().pin_dir());
	int dir = open(inst.tcpxi().pin_dir().c_str(), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(dir, 0);
	ASSERT_EQ(flock(dir, LOCK_EX), 0);
	auto r = run_tcpxi({"--instance", inst.name(), "--wait", "0", "attach", cg.relative(), "tune"});
	close(dir);
	EXPECT_EQ(r.exit_code, 5) << r.err;
	EXPECT_NE(r.err.find("another tcpxi"), std::string::npos) << r.err;
	EXPECT_EQ(prog_count(cg), 0u);
	// Once the lock is free, the same command goes through.
	EXPECT_EQ(run_tcpxi({"--instance", inst.name(), "attach", cg.relative(), "tune"}).exit_code, 0);
}

TEST_F(CliTest, BpffsThatCannotBeMountedIsExplained)
{
	// A private mount namespace without bpffs, and no CAP_SYS_ADMIN to mount it.
	auto r = run_command({"unshare", "-m", "sh", "-c",
			      "umount /sys/fs/bpf 2>/dev/null; exec setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin " +
				      std::string(TCPXI_BINARY) + " status"});
	EXPECT_EQ(r.exit_code, 4) << r.err;
	EXPECT_NE(r.err.find("bpffs is not mounted"), std::string::npos) << r.err;
	EXPECT_TRUE(one_line(r.err)) << r.err;
}

} // namespace
} // namespace tcpxi::test
