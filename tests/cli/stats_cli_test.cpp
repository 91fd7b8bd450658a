// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// `tcpxi stats`, the Prometheus exposition (checked by promtool, scraped over HTTP),
// `tcpxi snmp` behind a real snmpd, and `tcpxi top` in a terminal (tmux).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include <tcpxi/stats.hpp>

#include "kernel_test.hpp"
#include "run_command.hpp"
#include "tcp_probe.hpp"

namespace tcpxi::test {
namespace {

namespace fs = std::filesystem;

class StatsCliTest : public KernelTest {};

// A temporary directory, removed with everything in it.
struct TempDir {
	fs::path path;
	TempDir() : path(fs::temp_directory_path() / unique_name("tcpxi-stats-", 40)) { fs::create_directories(path); }
	~TempDir()
	{
		std::error_code ec;
		fs::remove_all(path, ec);
	}
};

std::string slurp(const fs::path &p)
{
	std::ifstream in(p);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

// promtool check metrics reads the exposition on stdin.
CommandResult promtool_check(const fs::path &file)
{
	return run_command({"sh", "-c", "promtool check metrics < '" + file.string() + "'"});
}

nlohmann::json stats_json(const ScopedInstance &inst, const std::string &cgroup)
{
	auto r = run_tcpxi({"--instance", inst.name(), "stats", cgroup, "--json"});
	EXPECT_EQ(r.exit_code, 0) << r.err;
	return nlohmann::json::parse(r.out);
}

uint16_t free_port(int type)
{
	int fd = socket(AF_INET, type, 0);
	sockaddr_in sin {};
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, reinterpret_cast<sockaddr *>(&sin), sizeof(sin));
	socklen_t len = sizeof(sin);
	getsockname(fd, reinterpret_cast<sockaddr *>(&sin), &len);
	close(fd);
	return ntohs(sin.sin_port);
}

std::string http_get(uint16_t port, const std::string &path)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_in sin {};
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, reinterpret_cast<sockaddr *>(&sin), sizeof(sin))) {
		close(fd);
		return "";
	}
	std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\r\n";
	(void)!write(fd, req.data(), req.size());
	std::string resp;
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		resp.append(buf, n);
	close(fd);
	return resp;
}

TEST_F(StatsCliTest, StatsJsonAndPrometheusFilePassPromtool)
{
	ScopedCgroup cg, quiet;
	ScopedInstance inst;
	TempDir dir;
	inst.tcpxi().attach(cg.relative(), "stats", {});
	inst.tcpxi().attach(cg.relative(), "tune", {"nodelay=on"});
	inst.tcpxi().attach(quiet.relative(), "stats", {});
	auto conn = connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false, 100000);
	ASSERT_EQ(conn.server["received"], "100000");

	auto j = stats_json(inst, cg.relative());
	ASSERT_EQ(j["cgroups"].size(), 1u);
	EXPECT_EQ(j["cgroups"][0]["cgroup"], cg.relative());
	EXPECT_EQ(j["cgroups"][0]["tcp"]["active_opens"], 1);
	EXPECT_EQ(j["cgroups"][0]["plugins"]["tune"]["conns_tuned"], 1);
	EXPECT_TRUE(j["connections"].is_array());
	EXPECT_TRUE(j["warnings"].is_array());

	const fs::path prom = dir.path / "tcpxi.prom";
	auto w = run_tcpxi({"--instance", inst.name(), "stats", "--prometheus", prom.string()});
	ASSERT_EQ(w.exit_code, 0) << w.err;
	// Written atomically: the file and nothing else (no temporary left behind).
	EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
	const std::string text = slurp(prom);
	auto check = promtool_check(prom);
	EXPECT_EQ(check.exit_code, 0) << check.out << check.err << text;
	EXPECT_NE(text.find("tcpxi_tcp_active_opens_total{cgroup=\"" + cg.relative() + "\"} 1\n"), std::string::npos)
		<< text;
	EXPECT_NE(text.find("tcpxi_tcp_active_opens_total{cgroup=\"" + quiet.relative() + "\"} 0\n"), std::string::npos);
	EXPECT_NE(text.find("tcpxi_tune_conns_tuned_total{cgroup=\"" + cg.relative() + "\"} 1\n"), std::string::npos);
	EXPECT_NE(text.find("tcpxi_tcp_rtt_seconds_bucket{cgroup=\"" + cg.relative() + "\",le=\"+Inf\"}"),
		  std::string::npos);
	EXPECT_NE(text.find("tcpxi_info{version=\""), std::string::npos);
	// Labels are bounded: cgroup, plugin, le, and the info metric's.
	std::regex label(R"(([a-z_]+)=")");
	for (std::sregex_iterator it(text.begin(), text.end(), label), end; it != end; ++it) {
		std::string name = (*it)[1];
		EXPECT_TRUE(name == "cgroup" || name == "plugin" || name == "le" || name == "version" || name == "kernel")
			<< name;
	}

	// --watch: one JSON document per line.
	auto watch = run_tcpxi({"--instance", inst.name(), "stats", "-j", "--watch", "0.2", "--count", "2"});
	ASSERT_EQ(watch.exit_code, 0) << watch.err;
	std::istringstream lines(watch.out);
	std::string line;
	int docs = 0;
	while (std::getline(lines, line))
		if (!line.empty()) {
			EXPECT_NO_THROW(nlohmann::json::parse(line));
			docs++;
		}
	EXPECT_EQ(docs, 2);
}

TEST_F(StatsCliTest, MetricsServerIsScrapedOverHttp)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	TempDir dir;
	inst.tcpxi().attach(cg.relative(), "stats", {});
	connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false, 1000);

	Options options;
	options.instance = inst.name();
	auto server = MetricsServer::for_instance(options, "127.0.0.1:0");
	server->start();
	ASSERT_NE(server->port(), 0);
	std::string resp = http_get(server->port(), "/metrics");
	ASSERT_EQ(resp.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << resp;
	EXPECT_NE(resp.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
	std::string body = resp.substr(resp.find("\r\n\r\n") + 4);
	std::ofstream(dir.path / "scrape.prom") << body;
	auto check = promtool_check(dir.path / "scrape.prom");
	EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
	EXPECT_NE(body.find("tcpxi_tcp_active_opens_total{cgroup=\"" + cg.relative() + "\"} 1\n"), std::string::npos)
		<< body;
	EXPECT_EQ(http_get(server->port(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
	server->stop();
	EXPECT_EQ(http_get(server->port(), "/metrics"), "") << "stopped servers do not answer";
}

// A child process running a command, stopped (SIGTERM, then SIGKILL) by the destructor.
class Process {
public:
	explicit Process(const std::vector<std::string> &argv)
	{
		pid_ = fork();
		if (pid_ == 0) {
			setpgid(0, 0);
			std::vector<char *> args;
			for (const auto &a : argv)
				args.push_back(const_cast<char *>(a.c_str()));
			args.push_back(nullptr);
			int devnull = open("/dev/null", O_RDWR);
			dup2(devnull, 0);
			execvp(args[0], args.data());
			_exit(127);
		}
	}
	~Process()
	{
		if (pid_ <= 0)
			return;
		kill(-pid_, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(pid_, nullptr, WNOHANG) == pid_)
				return;
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
		}
		kill(-pid_, SIGKILL);
		waitpid(pid_, nullptr, 0);
	}

private:
	pid_t pid_ = -1;
};

TEST_F(StatsCliTest, SnmpdPassPersistAnswersSnmpwalkWithTheSameNumbers)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	TempDir dir;
	inst.tcpxi().attach(cg.relative(), "stats", {});
	for (int i = 0; i < 3; i++)
		connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false, 5000);

	const std::string mibs = std::string(TCPXI_SOURCE_DIR) + "/docs/mib";
	// The MIB loads into net-snmp's tools without a word on stderr.
	auto translate = run_command({"snmptranslate", "-M", "+" + mibs, "-m", "TCPXI-MIB", "-On",
				      "TCPXI-MIB::tcpxiCgroupActiveOpens"});
	EXPECT_EQ(translate.exit_code, 0);
	EXPECT_EQ(translate.err, "");
	EXPECT_EQ(translate.out, std::string(kTcpxiMibOid) + ".1.2.1.3\n");

	const uint16_t port = free_port(SOCK_DGRAM);
	const fs::path conf = dir.path / "snmpd.conf";
	std::ofstream(conf) << "rocommunity public 127.0.0.1\n"
			    << "pass_persist " << kTcpxiMibOid << " " << TCPXI_BINARY << " --instance " << inst.name()
			    << " snmp\n";
	Process snmpd({"snmpd", "-f", "-Lf", (dir.path / "snmpd.log").string(), "-C", "-c", conf.string(), "-p",
		       (dir.path / "snmpd.pid").string(), "-M", mibs, "-m", "TCPXI-MIB",
		       "udp:127.0.0.1:" + std::to_string(port)});
	const std::string agent = "127.0.0.1:" + std::to_string(port);
	CommandResult walk;
	for (int i = 0; i < 25; i++) {
		walk = run_command({"snmpwalk", "-v2c", "-c", "public", "-t", "1", "-r", "0", "-M", "+" + mibs, "-m",
				    "TCPXI-MIB", "-On", "-OU", agent, kTcpxiMibOid});
		if (walk.exit_code == 0 && walk.out.find("Counter64") != std::string::npos)
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	ASSERT_EQ(walk.exit_code, 0) << walk.err << slurp(dir.path / "snmpd.log");

	auto j = stats_json(inst, cg.relative());
	const auto &tcp = j["cgroups"][0]["tcp"];
	const std::string row = "." + std::to_string(cg.id() & 0xffffffffu);
	auto value_of = [&](int column) {
		std::string oid = std::string(kTcpxiMibOid) + ".1.2.1." + std::to_string(column) + row + " = ";
		auto at = walk.out.find(oid);
		if (at == std::string::npos)
			return std::string("missing");
		auto start = walk.out.find(": ", at) + 2;
		return walk.out.substr(start, walk.out.find('\n', start) - start);
	};
	EXPECT_EQ(value_of(2), cg.relative()); // DISPLAY-HINT "255a": no quotes
	EXPECT_EQ(value_of(3), tcp["active_opens"].dump());
	EXPECT_EQ(value_of(3), "3");
	EXPECT_EQ(value_of(9), tcp["closed"].dump());
	EXPECT_EQ(value_of(12), tcp["bytes_acked"].dump());
	EXPECT_EQ(value_of(13), tcp["bytes_received"].dump());
	EXPECT_EQ(value_of(14), tcp["segs_in"].dump());
	EXPECT_EQ(value_of(15), tcp["segs_out"].dump());
	EXPECT_EQ(value_of(20), tcp["rtt_samples"].dump());

	// By name, with the MIB.
	auto get = run_command({"snmpget", "-v2c", "-c", "public", "-M", "+" + mibs, "-m", "TCPXI-MIB", agent,
				"TCPXI-MIB::tcpxiCgroupActiveOpens" + row});
	EXPECT_EQ(get.exit_code, 0) << get.err;
	EXPECT_NE(get.out.find("tcpxiCgroupActiveOpens" + row + " = Counter64: 3"), std::string::npos) << get.out;
}

// tmux on a socket of its own, killed with everything in it at the end.
class Tmux {
public:
	Tmux() : socket_(unique_name("tcpxi-tmux-", 40)) {}
	~Tmux() { run_command({"tmux", "-L", socket_, "kill-server"}); }
	CommandResult operator()(std::vector<std::string> args)
	{
		args.insert(args.begin(), {"tmux", "-L", socket_});
		return run_command(args);
	}
	std::string capture() { return (*this)({"capture-pane", "-p", "-t", "top"}).out; }
	bool wait_for(const std::string &text, std::string *screen = nullptr)
	{
		for (int i = 0; i < 100; i++) {
			std::string s = capture();
			if (screen)
				*screen = s;
			if (s.find(text) != std::string::npos)
				return true;
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
		}
		return false;
	}

private:
	std::string socket_;
};

TEST_F(StatsCliTest, TopShowsConnectionsSortsAndQuitsInATerminal)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	inst.tcpxi().attach(cg.relative(), "stats", {});
	auto a = open_connection(Place{}, Place{cg.path()}, "127.0.0.1", false);
	auto b = open_connection(Place{}, Place{cg.path()}, "::1", true);

	auto j = stats_json(inst, cg.relative());
	auto rc = run_tcpxi({"--instance", inst.name(), "stats", cg.relative(), "-c", "--json"});
	auto conns = nlohmann::json::parse(rc.out)["connections"];
	ASSERT_EQ(conns.size(), 2u) << rc.out;
	std::vector<std::string> ports;
	for (const auto &c : conns)
		ports.push_back(":" + std::to_string(c["local_port"].get<int>()));

	Tmux tmux;
	auto started = tmux({"new-session", "-d", "-s", "top", "-x", "200", "-y", "30",
			     std::string(TCPXI_BINARY) + " --instance " + inst.name() + " top -i 0.3"});
	ASSERT_EQ(started.exit_code, 0) << started.err;
	std::string screen;
	ASSERT_TRUE(tmux.wait_for("sorted by ACKED", &screen)) << screen;
	ASSERT_TRUE(tmux.wait_for("2 connections", &screen)) << screen;
	for (const auto &p : ports)
		EXPECT_NE(screen.find(p), std::string::npos) << p << "\n" << screen;
	EXPECT_NE(screen.find("ESTABLISHED"), std::string::npos) << screen;
	EXPECT_NE(screen.find("[::1]"), std::string::npos) << screen;

	tmux({"send-keys", "-t", "top", ">"});
	EXPECT_TRUE(tmux.wait_for("sorted by RECEIVED", &screen)) << screen;
	tmux({"send-keys", "-t", "top", "r"});
	EXPECT_TRUE(tmux.wait_for("(reversed)", &screen)) << screen;
	tmux({"send-keys", "-t", "top", "Left", "Left"});
	EXPECT_TRUE(tmux.wait_for("sorted by RETRANS (reversed)", &screen)) << screen;
	tmux({"send-keys", "-t", "top", "q"});
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = tmux({"has-session", "-t", "top"}).exit_code != 0;
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	EXPECT_TRUE(gone) << "q quits";
}

} // namespace
} // namespace tcpxi::test
