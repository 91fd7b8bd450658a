// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi apply: a config over several cgroups converges, is idempotent, follows
// changes in place, prunes; replaces plugins atomically under live traffic; rolls
// back on a bad object or a vanished cgroup; converges after SIGKILL at any step.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <tcpxi/apply.hpp>

#include "kernel_test.hpp"
#include "run_command.hpp"
#include "tcp_probe.hpp"

namespace tcpxi::test {
namespace {

namespace fs = std::filesystem;

class ApplyTest : public KernelTest {};

// A config file of its own, removed with the test.
class ConfigFile {
public:
	explicit ConfigFile(const std::string &text) : path_("/tmp/" + unique_name("tcpxi-apply-", 40) + ".toml")
	{
		write(text);
	}
	~ConfigFile() { ::remove(path_.c_str()); }
	void write(const std::string &text) const { std::ofstream(path_) << text; }
	const std::string &path() const { return path_; }

private:
	std::string path_;
};

// An environment variable for the duration of a scope.
class ScopedEnv {
public:
	ScopedEnv(const char *name, const std::string &value) : name_(name) { setenv(name, value.c_str(), 1); }
	~ScopedEnv() { unsetenv(name_); }

private:
	const char *name_;
};

ApplyResult apply_text(ScopedInstance &inst, const std::string &text, bool prune = false,
		  std::function<void(size_t, const PlanStep &)> hook = {})
{
	ApplyOptions options;
	options.prune = prune;
	options.before_step = std::move(hook);
	return apply_config(inst.tcpxi(), parse_config(text, "test.toml"), options);
}

std::string section(const std::string &cgroup, const std::string &body)
{
	return "[cgroups.\"" + cgroup + "\"]\n" + body + "\n";
}

const Attachment *find(const Status &status, uint64_t cgroup_id, const std::string &plugin)
{
	for (const auto &att : status.attachments)
		if (att.cgroup_id == cgroup_id && att.plugin == plugin)
			return &att;
	return nullptr;
}

std::string param(const Status &status, uint64_t cgroup_id, const std::string &plugin, const std::string &key)
{
	const Attachment *att = find(status, cgroup_id, plugin);
	if (!att)
		return "(not attached)";
	for (const auto &[k, v] : att->params)
		if (k == key)
			return v;
	return "(unset)";
}

std::string cwnd_from(const ScopedCgroup &cg)
{
	auto conn = connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false);
	return conn.client.count("error") ? "error: " + conn.client["error"] : conn.client["snd_cwnd"];
}

std::string cc_from(const ScopedCgroup &cg)
{
	auto conn = connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false);
	return conn.client.count("error") ? "error: " + conn.client["error"] : conn.client["cc"];
}

size_t prog_count(const ScopedCgroup &cg)
{
	int fd = open(cg.path().c_str(), O_RDONLY | O_DIRECTORY);
	uint32_t count = 0, flags = 0;
	bpf_prog_query(fd, BPF_CGROUP_SOCK_OPS, 0, &flags, nullptr, &count);
	close(fd);
	return count;
}

std::set<std::string> registered(ScopedInstance &inst)
{
	std::set<std::string> names;
	for (const auto &reg : inst.tcpxi().status().congestion_controls)
		names.insert(reg.algorithm);
	return names;
}

// Files under the instance's pin directory, relative to it.
std::set<std::string> pins_of(ScopedInstance &inst)
{
	std::set<std::string> pins;
	std::error_code ec;
	const std::string dir = inst.tcpxi().pin_dir();
	for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
		if (!it->is_directory())
			pins.insert(it->path().string().substr(dir.size() + 1));
	return pins;
}

TEST_F(ApplyTest, ConvergesIsIdempotentAndFollowsChanges)
{
	ScopedCgroup a, b, parent;
	ScopedCgroup c1(parent.relative()), c2(parent.relative());
	ScopedInstance inst;
	const std::string cubic = inst.tcpxi().algorithm_name("cubic");
	const std::string reno = inst.tcpxi().algorithm_name("reno");
	auto config = [&](const std::string &a_body, const std::string &b_body, bool with_a = true) {
		return std::string("congestion_controls = [\"reno\"]\n") + (with_a ? section(a.relative(), a_body) : "") +
		       section(b.relative(), b_body) + section(parent.relative() + "/*", "tune = { init_cwnd = 25 }");
	};

	ApplyResult first = apply_text(inst, config("tune = { init_cwnd = 15, nodelay = true }", "cubic = {}"));
	EXPECT_TRUE(first.applied);

	// The kernel, as `tcpxi status --json` reports it, is what the file says.
	auto out = run_tcpxi({"--instance", inst.name(), "status", "--json"});
	ASSERT_EQ(out.exit_code, 0) << out.err;
	std::set<std::string> seen;
	const auto json = nlohmann::json::parse(out.out);
	for (const auto &att : json["attachments"]) {
		std::string params;
		for (const auto &item : att["params"].items())
			params += " " + item.key() + "=" + item.value().get<std::string>();
		seen.insert(att["cgroup"].get<std::string>() + " " + att["plugin"].get<std::string>() + params +
			    (att["attached"].get<bool>() ? "" : " DETACHED"));
	}
	EXPECT_EQ(seen, (std::set<std::string>{a.relative() + " tune init_cwnd=15 nodelay=on",
					       b.relative() + " cc algorithm=" + cubic,
					       c1.relative() + " tune init_cwnd=25", c2.relative() + " tune init_cwnd=25"}))
		<< out.out;
	EXPECT_EQ(registered(inst), (std::set<std::string>{cubic, reno}));
	EXPECT_EQ(prog_count(parent), 0u) << "a pattern names the children, not the parent";
	EXPECT_EQ(cwnd_from(a), "15");
	EXPECT_EQ(cwnd_from(c2), "25");
	EXPECT_EQ(cc_from(b), cubic);

	// Again: nothing to do, and the command says so.
	EXPECT_TRUE(apply_text(inst, config("tune = { init_cwnd = 15, nodelay = true }", "cubic = {}")).plan.empty());
	ConfigFile file(config("tune = { init_cwnd = 15, nodelay = true }", "cubic = {}"));
	auto again = run_tcpxi({"--instance", inst.name(), "apply", "--config", file.path()});
	EXPECT_EQ(again.exit_code, 0) << again.err;
	EXPECT_NE(again.out.find("No changes"), std::string::npos) << again.out;

	// A parameter: changed in place, same link.
	uint32_t link = find(inst.tcpxi().status(), a.id(), "tune")->link_id;
	ApplyResult changed = apply_text(inst, config("tune = { init_cwnd = 18 }", "cubic = {}"));
	ASSERT_EQ(changed.plan.steps.size(), 1u);
	EXPECT_EQ(changed.plan.steps[0].kind, StepKind::set);
	Status status = inst.tcpxi().status();
	EXPECT_EQ(find(status, a.id(), "tune")->link_id, link) << "a parameter change must not re-attach";
	EXPECT_EQ(param(status, a.id(), "tune", "nodelay"), "(unset)");
	EXPECT_EQ(cwnd_from(a), "18");

	// A congestion control: cubic -> reno; cubic is no longer named, so it goes.
	apply_text(inst, config("tune = { init_cwnd = 18 }", "reno = {}"));
	EXPECT_EQ(cc_from(b), reno);
	EXPECT_EQ(registered(inst), (std::set<std::string>{reno}));

	// Not in the file: left alone without --prune, detached with it.
	ApplyResult kept = apply_text(inst, config("", "reno = {}", false));
	EXPECT_TRUE(kept.plan.empty());
	ASSERT_EQ(kept.plan.left_alone.size(), 1u);
	EXPECT_EQ(kept.plan.left_alone[0].cgroup_id, a.id());
	EXPECT_EQ(cwnd_from(a), "18");
	ApplyResult pruned = apply_text(inst, config("", "reno = {}", false), true);
	ASSERT_EQ(pruned.plan.steps.size(), 1u);
	EXPECT_EQ(pruned.plan.steps[0].kind, StepKind::detach);
	EXPECT_EQ(prog_count(a), 0u);
	EXPECT_EQ(cwnd_from(a), "10");
	EXPECT_TRUE(apply_text(inst, config("", "reno = {}", false), true).plan.empty());
}

// Clients in the cgroup: 10 connections held open, then new ones in a loop, each
// checked for the cwnd the plugin gives; at the end the held ones must still carry data.
void churn(int out, uint16_t port, int millis)
{
	sockaddr_in addr {};
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	auto open_one = [&] {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr))) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		return fd;
	};
	std::vector<int> held;
	for (int i = 0; i < 10; i++)
		held.push_back(open_one());
	write_line(out, "ready");
	std::map<unsigned, unsigned> cwnds;
	unsigned failed = 0;
	auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(millis);
	while (std::chrono::steady_clock::now() < end) {
		int fd = open_one();
		if (fd < 0) {
			failed++;
			continue;
		}
		tcp_info info {};
		socklen_t len = sizeof(info);
		getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len);
		cwnds[info.tcpi_snd_cwnd]++;
		close(fd);
	}
	unsigned held_ok = 0;
	for (int fd : held)
		if (fd >= 0 && send(fd, "x", 1, MSG_NOSIGNAL) == 1)
			held_ok++;
	std::string line = "failed=" + std::to_string(failed) + " held_ok=" + std::to_string(held_ok);
	for (const auto &[cwnd, count] : cwnds)
		line += " cwnd" + std::to_string(cwnd) + "=" + std::to_string(count);
	write_line(out, line);
}

TEST_F(ApplyTest, ReplacingABuildIsAtomicUnderLiveConnections)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	const std::string text = section(cg.relative(), "tune = { init_cwnd = 32, nodelay = true }");
	apply_text(inst, text);

	Child server(Place{}, [](int out) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in addr {};
		addr.sin_family = AF_INET;
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(addr);
		bind(fd, reinterpret_cast<sockaddr *>(&addr), len);
		listen(fd, 4096);
		getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
		write_line(out, "port=" + std::to_string(ntohs(addr.sin_port)));
		std::vector<int> held;
		for (;;) {
			int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
			if (conn < 0)
				continue;
			if (held.size() < 10)
				held.push_back(conn); // the client's first ten stay open
			else
				close(conn);
		}
	});
	uint16_t port = std::stoi(parse_fields(server.read_line())["port"]);
	Child client(Place{cg.path()}, [port](int out) { churn(out, port, 1500); });
	ASSERT_EQ(client.read_line(), "ready");
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	Status before = inst.tcpxi().status();
	const Attachment *old = find(before, cg.id(), "tune");
	ASSERT_TRUE(old);

	ApplyResult result;
	{
		ScopedEnv other_build("TCPXI_TEST_BUILD_SALT", "newer");
		result = apply_text(inst, text);
	}
	auto report = parse_fields(client.read_line());
	ASSERT_EQ(result.plan.steps.size(), 1u);
	EXPECT_EQ(result.plan.steps[0].kind, StepKind::replace);
	EXPECT_TRUE(result.plan.steps[0].atomic);

	Status after = inst.tcpxi().status();
	const Attachment *now = find(after, cg.id(), "tune");
	ASSERT_TRUE(now);
	EXPECT_NE(now->prog_id, old->prog_id) << "the new build runs";
	EXPECT_EQ(now->link_id, old->link_id) << "the link was updated, not re-created";
	EXPECT_EQ(param(after, cg.id(), "tune", "init_cwnd"), "32") << "parameters survive";
	EXPECT_EQ(report["failed"], "0") << "no connection failed";
	EXPECT_EQ(report["held_ok"], "10") << "open connections kept working";
	EXPECT_EQ(report.count("cwnd10"), 0u) << "a connection was handled by no program";
	EXPECT_GT(std::stoul(report["cwnd32"]), 100u);
	uint64_t tuned_before = 0, tuned_after = 0;
	for (const auto &c : now->counters)
		if (c.name == "conns_tuned")
			tuned_after = c.value;
	for (const auto &c : old->counters)
		if (c.name == "conns_tuned")
			tuned_before = c.value;
	EXPECT_GT(tuned_after, tuned_before) << "counters survive and keep counting";
	EXPECT_EQ(prog_count(cg), 1u) << "never both programs: " << run("bpftool cgroup show " + cg.path());

	// The congestion control of another build: swapped through its struct_ops link.
	{
		ScopedEnv same_build("TCPXI_TEST_BUILD_SALT", "newer");
		ApplyResult registered_now = apply_text(inst, "congestion_controls = [\"cubic\"]\n" + text);
		ASSERT_EQ(registered_now.plan.steps.size(), 1u);
	}
	uint32_t map_before = inst.tcpxi().status().congestion_controls.at(0).map_id;
	uint32_t link_before = inst.tcpxi().status().congestion_controls.at(0).link_id;
	{
		ScopedEnv other_build("TCPXI_TEST_BUILD_SALT", "newest");
		ApplyResult swapped = apply_text(inst, "congestion_controls = [\"cubic\"]\n" + text);
		ASSERT_EQ(swapped.plan.steps.size(), 2u);
		EXPECT_EQ(swapped.plan.steps[0].kind, StepKind::replace_cc);
		EXPECT_TRUE(swapped.plan.steps[0].atomic);
	}
	Registration reg = inst.tcpxi().status().congestion_controls.at(0);
	EXPECT_NE(reg.map_id, map_before);
	EXPECT_EQ(reg.link_id, link_before);
}

TEST_F(ApplyTest, ALayoutChangeTakesTheFallbackAndSaysSo)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "cc", {"algorithm=reno"});
	// Stand-in for a tune loaded by an older tcpxi whose parameters differ.
	const std::string dir = inst.tcpxi().pin_dir();
	const std::string id = std::to_string(cg.id());
	ASSERT_EQ(rename((dir + "/plugins/cc").c_str(), (dir + "/plugins/tune").c_str()), 0);
	ASSERT_EQ(rename((dir + "/links/" + id + "/cc").c_str(), (dir + "/links/" + id + "/tune").c_str()), 0);

	ApplyResult result = apply_text(inst, section(cg.relative(), "tune = { init_cwnd = 19 }"));
	ASSERT_GE(result.plan.steps.size(), 2u);
	EXPECT_EQ(result.plan.steps[0].kind, StepKind::replace);
	EXPECT_FALSE(result.plan.steps[0].atomic);
	EXPECT_NE(result.plan.steps[0].note.find("both run"), std::string::npos);
	Status status = inst.tcpxi().status();
	const Attachment *att = find(status, cg.id(), "tune");
	ASSERT_TRUE(att);
	EXPECT_EQ(att->prog_name, "tcpxi_tune");
	EXPECT_EQ(param(status, cg.id(), "tune", "init_cwnd"), "19");
	EXPECT_EQ(prog_count(cg), 1u);
	EXPECT_EQ(cwnd_from(cg), "19");
	EXPECT_TRUE(apply_text(inst, section(cg.relative(), "tune = { init_cwnd = 19 }")).plan.empty());
}

// The state before an apply that failed, and after: the same pins, the same values.
struct Snapshot {
	std::set<std::string> pins;
	std::set<std::string> attachments;
	std::set<std::string> algorithms;
	bool operator==(const Snapshot &) const = default;
};

Snapshot snapshot(ScopedInstance &inst)
{
	Snapshot snap;
	snap.pins = pins_of(inst);
	snap.pins.erase("staging");
	Status status = inst.tcpxi().status();
	for (const auto &att : status.attachments) {
		std::string text = std::to_string(att.cgroup_id) + " " + att.plugin + " link " + std::to_string(att.link_id) +
				   " prog " + std::to_string(att.prog_id) + (att.attached ? "" : " DETACHED");
		for (const auto &[k, v] : att.params)
			text += " " + k + "=" + v;
		snap.attachments.insert(text);
	}
	for (const auto &reg : status.congestion_controls)
		snap.algorithms.insert(reg.algorithm + " " + std::to_string(reg.map_id));
	return snap;
}

TEST_F(ApplyTest, ABadObjectInTheMiddleRollsEverythingBack)
{
	ScopedCgroup a, b, c;
	ScopedInstance inst;
	apply_text(inst, section(a.relative(), "tune = { init_cwnd = 15 }"));
	Snapshot before = snapshot(inst);
	const std::string text = "congestion_controls = [\"reno\"]\n" + section(a.relative(), "tune = { init_cwnd = 16 }") +
				 section(b.relative(), "tune = { init_cwnd = 17 }") +
				 section(c.relative(), "cc = { algorithm = \"reno\" }");
	ScopedEnv bad("TCPXI_TEST_BAD_OBJECT", "cc");
	try {
		apply_text(inst, text);
		FAIL() << "a bad object was loaded";
	} catch (const Error &e) {
		std::string message = e.what();
		EXPECT_NE(message.find("(attach cc to " + c.relative() + ") failed"), std::string::npos) << message;
		EXPECT_NE(message.find("nothing changed"), std::string::npos) << message;
	}
	EXPECT_EQ(snapshot(inst), before);
	EXPECT_EQ(prog_count(b), 0u);
	EXPECT_EQ(prog_count(c), 0u);
	EXPECT_EQ(cwnd_from(a), "15");
}

TEST_F(ApplyTest, ACgroupRemovedDuringApplyRollsBack)
{
	ScopedCgroup a;
	ScopedInstance inst;
	auto doomed = std::make_unique<ScopedCgroup>();
	const std::string doomed_path = doomed->relative();
	apply_text(inst, section(a.relative(), "tune = { init_cwnd = 15 }"));
	Snapshot before = snapshot(inst);
	const std::string text = "congestion_controls = [\"cubic\"]\n" + section(a.relative(), "tune = { init_cwnd = 16 }") +
				 section(doomed_path, "tune = { init_cwnd = 17 }");
	try {
		apply_text(inst, text, false, [&](size_t, const PlanStep &step) {
			if (step.cgroup == doomed_path)
				doomed.reset(); // rmdir, as systemd does when a service stops
		});
		FAIL() << "applied to a removed cgroup";
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("was removed during apply"), std::string::npos) << e.what();
	}
	EXPECT_EQ(snapshot(inst), before);
	EXPECT_EQ(cwnd_from(a), "15");
}

TEST_F(ApplyTest, SigkillAtEveryStepLeavesAStateTheNextApplyConverges)
{
	ScopedCgroup a, b, c, d;
	ScopedInstance inst;
	const std::string base = section(a.relative(), "tune = { init_cwnd = 15 }") + section(b.relative(), "cubic = {}") +
				 section(d.relative(), "tune = { init_cwnd = 21 }");
	const std::string next = section(a.relative(), "tune = { init_cwnd = 16 }") + section(b.relative(), "reno = {}") +
				 section(c.relative(), "tune = { init_cwnd = 17 }");
	ConfigFile file(next);
	const std::string reno = inst.tcpxi().algorithm_name("reno");
	const std::string cubic = inst.tcpxi().algorithm_name("cubic");
	// cgroup id -> the values it may have: the old ones or the new ones.
	std::map<uint64_t, std::set<std::string>> allowed{{a.id(), {"tune init_cwnd=15", "tune init_cwnd=16"}},
							  {b.id(), {"cc algorithm=" + cubic, "cc algorithm=" + reno}},
							  {c.id(), {"tune init_cwnd=17"}},
							  {d.id(), {"tune init_cwnd=21"}}};
	auto argv = [&](size_t kill_at) {
		return std::vector<std::string>{"env", "TCPXI_TEST_KILL_AT_STEP=" + std::to_string(kill_at),
						"TCPXI_TEST_BUILD_SALT=next", TCPXI_BINARY, "--instance", inst.name(),
						"apply", "--prune", "--config", file.path()};
	};
	apply_text(inst, base, true);
	size_t steps = 0;
	{
		ScopedEnv salt("TCPXI_TEST_BUILD_SALT", "next");
		steps = make_plan(inst.tcpxi(), parse_config(next, "next.toml"), true).steps.size();
	}
	ASSERT_GE(steps, 6u) << "replace, register, set, attach, detach, unregister";
	for (size_t kill_at = 1; kill_at <= steps + 1; kill_at++) {
		SCOPED_TRACE("killed before step " + std::to_string(kill_at));
		apply_text(inst, base, true);
		auto killed = run_command(argv(kill_at));
		EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.out << killed.err;

		// Every attachment is whole: attached, with the old values or the new.
		for (const auto &att : inst.tcpxi().status().attachments) {
			std::string values = att.plugin;
			for (const auto &[k, v] : att.params)
				values += " " + k + "=" + v;
			EXPECT_TRUE(att.attached) << values;
			EXPECT_TRUE(allowed[att.cgroup_id].count(values)) << values;
		}
		auto converged = run_command(argv(0));
		ASSERT_EQ(converged.exit_code, 0) << converged.err;
		auto idle = run_command(argv(0));
		EXPECT_NE(idle.out.find("No changes"), std::string::npos) << idle.out;
		std::set<std::string> pins = pins_of(inst);
		std::set<std::string> expected{"cc/" + reno + "/build", "cc/" + reno + "/link", "cc/" + reno + "/map"};
		for (const char *plugin : {"cc", "tune"})
			for (const char *pin : {"build", "counters", "params", "prog"})
				expected.insert(std::string("plugins/") + plugin + "/" + pin);
		expected.insert("links/" + std::to_string(a.id()) + "/tune");
		expected.insert("links/" + std::to_string(b.id()) + "/cc");
		expected.insert("links/" + std::to_string(c.id()) + "/tune");
		EXPECT_EQ(pins, expected) << "no orphaned pins";
	}
	EXPECT_EQ(cc_from(b), reno);
	EXPECT_EQ(cwnd_from(c), "17");
	EXPECT_EQ(prog_count(d), 0u);
}

TEST_F(ApplyTest, ConcurrentRunsAreSerializedByTheInstanceLock)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	ConfigFile file(section(cg.relative(), "tune = { init_cwnd = 15 }"));
	fs::create_directories(inst.tcpxi().pin_dir());
	int dir = open(inst.tcpxi().pin_dir().c_str(), O_RDONLY | O_DIRECTORY);
	ASSERT_EQ(flock(dir, LOCK_EX), 0);
	auto busy = run_tcpxi({"--instance", inst.name(), "--wait", "0", "apply", "--config", file.path()});
	EXPECT_EQ(busy.exit_code, 5) << busy.err;
	EXPECT_EQ(prog_count(cg), 0u);
	close(dir);
	auto done = run_tcpxi({"--instance", inst.name(), "apply", "--config", file.path()});
	EXPECT_EQ(done.exit_code, 0) << done.err;
	EXPECT_EQ(prog_count(cg), 1u);
}

TEST_F(ApplyTest, BadConfigChangesNothingAndSaysWhere)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	ConfigFile file(section(cg.relative(), "tune = { init_cwnd = 15 }") + section("no-such-cgroup-x", "tune = {}"));
	auto out = run_tcpxi({"--instance", inst.name(), "apply", "--config", file.path()});
	EXPECT_EQ(out.exit_code, 2);
	EXPECT_EQ(out.err.rfind("tcpxi: " + file.path() + ":3:10: cgroup /no-such-cgroup-x does not exist", 0), 0u)
		<< out.err;
	EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1);
	EXPECT_EQ(prog_count(cg), 0u);
	file.write(section(cg.relative(), "tune = { init_cwnd = \"many\" }"));
	out = run_tcpxi({"--instance", inst.name(), "apply", "--dry-run", "--json", "--config", file.path()});
	EXPECT_EQ(out.exit_code, 2);
	EXPECT_NE(out.err.find(file.path() + ":2:22:"), std::string::npos) << out.err;
	file.write(section(cg.relative(), "tune = { init_cwnd = 15 }"));
	out = run_tcpxi({"--instance", inst.name(), "apply", "--dry-run", "--json", "--config", file.path()});
	ASSERT_EQ(out.exit_code, 0) << out.err;
	auto plan = nlohmann::json::parse(out.out);
	EXPECT_EQ(plan["changes"], 1);
	EXPECT_EQ(plan["steps"][0]["action"], "attach");
	EXPECT_EQ(plan["steps"][0]["params"]["init_cwnd"], "15");
	EXPECT_EQ(prog_count(cg), 0u) << "a dry run changes nothing";
}

} // namespace
} // namespace tcpxi::test
