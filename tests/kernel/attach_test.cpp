// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Attachment life cycle: one program for many cgroups, parameters per cgroup,
// changes without re-attaching, inheritance, detach, and a kernel changed behind
// tcpxi's back.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "kernel_test.hpp"
#include "tcp_probe.hpp"

namespace tcpxi::test {
namespace {

class AttachTest : public KernelTest {};

std::string cwnd_from(const ScopedCgroup &cg)
{
	auto conn = connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false);
	return conn.client.count("error") ? "error: " + conn.client["error"] : conn.client["snd_cwnd"];
}

const Attachment *find(const Status &status, uint64_t cgroup_id, const std::string &plugin)
{
	for (const auto &att : status.attachments)
		if (att.cgroup_id == cgroup_id && att.plugin == plugin)
			return &att;
	return nullptr;
}

// Program ids the kernel runs for a cgroup's sock_ops hook (what bpftool cgroup shows).
std::vector<uint32_t> attached_prog_ids(const ScopedCgroup &cg)
{
	int fd = open(cg.path().c_str(), O_RDONLY | O_DIRECTORY);
	uint32_t ids[64];
	uint32_t count = 64;
	uint32_t flags = 0;
	int rc = bpf_prog_query(fd, BPF_CGROUP_SOCK_OPS, 0, &flags, ids, &count);
	close(fd);
	if (rc)
		return {};
	return std::vector<uint32_t>(ids, ids + count);
}

bool prog_exists(uint32_t id)
{
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

TEST_F(AttachTest, OneProgramServesManyCgroupsEachWithItsOwnParameters)
{
	ScopedCgroup a, b;
	ScopedInstance inst;
	inst.tcpxi().attach(a.relative(), "tune", {"init_cwnd=15"});
	inst.tcpxi().attach(b.relative(), "tune", {"init_cwnd=25"});

	EXPECT_EQ(cwnd_from(a), "15");
	EXPECT_EQ(cwnd_from(b), "25");

	Status status = inst.tcpxi().status();
	const Attachment *att_a = find(status, a.id(), "tune");
	const Attachment *att_b = find(status, b.id(), "tune");
	ASSERT_TRUE(att_a && att_b);
	EXPECT_EQ(att_a->prog_id, att_b->prog_id) << "a plugin is loaded once";
	EXPECT_NE(att_a->link_id, att_b->link_id);
	EXPECT_EQ(attached_prog_ids(a), std::vector<uint32_t>{att_a->prog_id});
	EXPECT_EQ(attached_prog_ids(b), std::vector<uint32_t>{att_a->prog_id});
}

TEST_F(AttachTest, SetChangesNewConnectionsWithoutReattaching)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "tune", {"init_cwnd=15", "nodelay=on"});
	uint32_t link_before = find(inst.tcpxi().status(), cg.id(), "tune")->link_id;
	EXPECT_EQ(cwnd_from(cg), "15");

	inst.tcpxi().set(cg.relative(), "tune", {"init_cwnd=33"});
	EXPECT_EQ(cwnd_from(cg), "33");
	Status status = inst.tcpxi().status();
	const Attachment *att = find(status, cg.id(), "tune");
	ASSERT_TRUE(att);
	EXPECT_EQ(att->link_id, link_before) << "set must not re-attach";
	EXPECT_EQ(att->params, (std::vector<std::pair<std::string, std::string>>{{"init_cwnd", "33"}, {"nodelay", "on"}}));

	inst.tcpxi().set(cg.relative(), "tune", {}, {"init_cwnd"});
	EXPECT_EQ(cwnd_from(cg), "10") << "an unset parameter leaves the kernel's default";
}

TEST_F(AttachTest, DescendantCgroupsInheritTheAttachment)
{
	ScopedCgroup parent;
	ScopedCgroup child(parent.relative());
	ScopedInstance inst;
	inst.tcpxi().attach(parent.relative(), "tune", {"init_cwnd=17"});
	EXPECT_EQ(cwnd_from(child), "17");
}

TEST_F(AttachTest, TheMostSpecificCgroupWinsAndTheRestIsInherited)
{
	ScopedCgroup parent;
	ScopedCgroup child(parent.relative());
	ScopedInstance inst;
	inst.tcpxi().attach(parent.relative(), "tune", {"init_cwnd=17", "nodelay=on", "rto_min_ms=100"});
	inst.tcpxi().attach(child.relative(), "tune", {"init_cwnd=25", "rto_min_ms=30"});
	// The kernel runs the child's program first, then the parent's: the parent must
	// not undo what the child chose, and must fill in what the child left unset.
	auto conn = connect_once(Place{}, Place{child.path()}, "127.0.0.1", false);
	EXPECT_EQ(conn.client["snd_cwnd"], "25");
	EXPECT_EQ(conn.client["nodelay"], "1");
	EXPECT_LT(std::stoul(conn.client["rto"]), 100000u) << "rto_min 30 ms from the child, not 100 ms";
	auto in_parent = connect_once(Place{}, Place{parent.path()}, "127.0.0.1", false);
	EXPECT_EQ(in_parent.client["snd_cwnd"], "17");
	EXPECT_GE(std::stoul(in_parent.client["rto"]), 100000u);
}

TEST_F(AttachTest, DetachRestoresDefaultsAndUnloadsTheProgram)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "tune", {"init_cwnd=21"});
	uint32_t prog_id = find(inst.tcpxi().status(), cg.id(), "tune")->prog_id;
	EXPECT_EQ(cwnd_from(cg), "21");

	Report report = inst.tcpxi().detach(cg.relative(), "tune");
	EXPECT_EQ(cwnd_from(cg), "10");
	EXPECT_TRUE(attached_prog_ids(cg).empty());
	EXPECT_TRUE(inst.tcpxi().status().attachments.empty());
	EXPECT_FALSE(prog_exists(prog_id)) << "the last detach unloads the program";
	EXPECT_FALSE(std::filesystem::exists(inst.tcpxi().pin_dir() + "/plugins/tune"));
}

TEST_F(AttachTest, StatusReportsALinkDetachedByAnotherTool)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "tune", {"init_cwnd=21"});
	// What `bpftool link detach id N` does.
	int link = bpf_obj_get((inst.tcpxi().pin_dir() + "/links/" + std::to_string(cg.id()) + "/tune").c_str());
	ASSERT_GE(link, 0);
	ASSERT_EQ(bpf_link_detach(link), 0);
	close(link);

	const Attachment *att = find(inst.tcpxi().status(), cg.id(), "tune");
	ASSERT_TRUE(att);
	EXPECT_FALSE(att->attached);
	EXPECT_EQ(cwnd_from(cg), "10");
	inst.tcpxi().detach(cg.relative(), "tune");
	EXPECT_TRUE(inst.tcpxi().status().attachments.empty());
}

TEST_F(AttachTest, RemovedCgroupIsReportedAndCleanedUpById)
{
	ScopedInstance inst;
	uint64_t id = 0;
	uint32_t prog_id = 0;
	{
		ScopedCgroup cg;
		id = cg.id();
		inst.tcpxi().attach(cg.relative(), "tune", {"init_cwnd=21"});
		prog_id = find(inst.tcpxi().status(), id, "tune")->prog_id;
	} // the cgroup is removed here, with the attachment still pinned
	Status status = inst.tcpxi().status();
	const Attachment *att = find(status, id, "tune");
	ASSERT_TRUE(att);
	EXPECT_FALSE(att->attached);
	EXPECT_TRUE(att->cgroup.empty());
	inst.tcpxi().detach(std::to_string(id), "tune");
	EXPECT_TRUE(inst.tcpxi().status().attachments.empty());
	EXPECT_FALSE(prog_exists(prog_id));
}

TEST_F(AttachTest, ProgramPinnedByAnotherBuildIsNotReused)
{
	ScopedCgroup a, b;
	ScopedInstance inst;
	inst.tcpxi().attach(a.relative(), "cc", {"algorithm=reno"});
	// Stand-in for a tune loaded by an older tcpxi: a program whose parameters differ.
	const std::string plugins = inst.tcpxi().pin_dir() + "/plugins/";
	ASSERT_EQ(rename((plugins + "cc").c_str(), (plugins + "tune").c_str()), 0);
	try {
		inst.tcpxi().attach(b.relative(), "tune", {"init_cwnd=20"});
		ADD_FAILURE() << "reused a program with another parameter layout";
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), ErrorKind::conflict);
		EXPECT_NE(std::string(e.what()).find("another tcpxi build"), std::string::npos) << e.what();
	}
	EXPECT_TRUE(attached_prog_ids(b).empty());
	ASSERT_EQ(rename((plugins + "tune").c_str(), (plugins + "cc").c_str()), 0);
}

TEST_F(AttachTest, AttachmentsOfTwoInstancesDoNotMix)
{
	ScopedCgroup cg;
	ScopedInstance one, two;
	one.tcpxi().attach(cg.relative(), "tune", {"init_cwnd=12"});
	two.tcpxi().attach(cg.relative(), "tune", {"nodelay=on"});
	auto conn = connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false);
	EXPECT_EQ(conn.client["snd_cwnd"], "12");
	EXPECT_EQ(conn.client["nodelay"], "1");
	EXPECT_EQ(one.tcpxi().status().attachments.size(), 1u);
	EXPECT_EQ(attached_prog_ids(cg).size(), 2u);
}

} // namespace
} // namespace tcpxi::test
