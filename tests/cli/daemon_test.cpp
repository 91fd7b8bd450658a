// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi daemon and systemd's notify protocol, with a NOTIFY_SOCKET the test opens
// (PID 1 here is not systemd): READY, STATUS, RELOADING on SIGHUP, a reload that
// fails and keeps the state, STOPPING on SIGTERM with the attachments left or removed.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <fstream>

#include "kernel_test.hpp"

namespace tcpxi::test {
namespace {

class DaemonTest : public KernelTest {};

// An abstract datagram socket, as systemd's: the address goes in $NOTIFY_SOCKET.
class NotifySocket {
public:
	NotifySocket() : name_("@" + unique_name("tcpxi-notify-", 40))
	{
		fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		sockaddr_un sun {};
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path + 1, name_.c_str() + 1, name_.size() - 1);
		if (bind(fd_, reinterpret_cast<sockaddr *>(&sun), offsetof(sockaddr_un, sun_path) + name_.size()))
			throw std::runtime_error("cannot bind the notify socket");
	}
	~NotifySocket() { close(fd_); }
	const std::string &name() const { return name_; }

	// The next message, or "" after the timeout.
	std::string next(int timeout_ms = 10000)
	{
		pollfd pfd{fd_, POLLIN, 0};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return "";
		char buf[4096];
		ssize_t n = recv(fd_, buf, sizeof(buf), 0);
		return n > 0 ? std::string(buf, n) : "";
	}
	// Messages until one contains `what`; all of them, joined.
	std::string until(const std::string &what)
	{
		std::string seen;
		for (int i = 0; i < 20; i++) {
			std::string message = next();
			if (message.empty())
				break;
			seen += message + "\n--\n";
			if (message.find(what) != std::string::npos)
				break;
		}
		return seen;
	}

private:
	std::string name_;
	int fd_ = -1;
};

class Daemon {
public:
	Daemon(const std::vector<std::string> &args, const std::string &notify)
	{
		int err[2];
		pipe2(err, O_CLOEXEC);
		pid_ = fork();
		if (pid_ == 0) {
			dup2(err[1], 2);
			setenv("NOTIFY_SOCKET", notify.c_str(), 1);
			std::vector<char *> argv{const_cast<char *>(TCPXI_BINARY)};
			for (const auto &a : args)
				argv.push_back(const_cast<char *>(a.c_str()));
			argv.push_back(nullptr);
			execv(argv[0], argv.data());
			_exit(127);
		}
		close(err[1]);
		err_ = err[0];
	}
	~Daemon()
	{
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			wait();
		}
		close(err_);
	}
	void signal(int sig) { kill(pid_, sig); }
	int wait()
	{
		int status = 0;
		waitpid(pid_, &status, 0);
		pid_ = -1;
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	std::string log()
	{
		std::string text;
		char buf[4096];
		fcntl(err_, F_SETFL, O_NONBLOCK);
		ssize_t n;
		while ((n = read(err_, buf, sizeof(buf))) > 0)
			text.append(buf, n);
		return text;
	}

private:
	pid_t pid_ = -1;
	int err_ = -1;
};

std::string config_for(const ScopedCgroup &cg, int cwnd)
{
	return "[cgroups.\"" + cg.relative() + "\"]\ntune = { init_cwnd = " + std::to_string(cwnd) + " }\n";
}

std::string cwnd_param(ScopedInstance &inst)
{
	for (const auto &att : inst.tcpxi().status().attachments)
		for (const auto &[k, v] : att.params)
			if (k == "init_cwnd")
				return v;
	return "(none)";
}

TEST_F(DaemonTest, ReadyStatusReloadAndStop)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	const std::string file = "/tmp/" + unique_name("tcpxi-daemon-", 40) + ".toml";
	std::ofstream(file) << config_for(cg, 15);
	NotifySocket notify;
	Daemon daemon({"--instance", inst.name(), "daemon", "--config", file}, notify.name());

	std::string ready = notify.until("READY=1");
	EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready << daemon.log();
	EXPECT_NE(ready.find("STATUS=applied " + file + " (start, 1 changes); 1 attachments in 1 cgroups"), std::string::npos)
		<< ready;
	EXPECT_EQ(cwnd_param(inst), "15");

	// SIGHUP: RELOADING=1, re-apply, READY=1 again.
	std::ofstream(file) << config_for(cg, 16);
	daemon.signal(SIGHUP);
	std::string reload = notify.until("READY=1");
	EXPECT_NE(reload.find("RELOADING=1"), std::string::npos) << reload;
	EXPECT_NE(reload.find("MONOTONIC_USEC="), std::string::npos) << reload;
	EXPECT_NE(reload.find("READY=1"), std::string::npos) << reload;
	EXPECT_EQ(cwnd_param(inst), "16");

	// A broken file: the daemon keeps running and keeps the state, and says why.
	std::ofstream(file) << "[cgroups.\"" << cg.relative() << "\"]\ntune = { init_cwnd = }\n";
	daemon.signal(SIGHUP);
	std::string failed = notify.until("READY=1");
	EXPECT_NE(failed.find("reload failed, previous state kept: " + file + ":2:"), std::string::npos) << failed;
	EXPECT_EQ(cwnd_param(inst), "16");

	// SIGTERM: STOPPING=1, exit 0, attachments stay.
	daemon.signal(SIGTERM);
	std::string stopping = notify.until("STOPPING=1");
	EXPECT_NE(stopping.find("STOPPING=1"), std::string::npos) << stopping;
	EXPECT_EQ(daemon.wait(), 0);
	std::string log = daemon.log();
	EXPECT_NE(log.find("tcpxi: + attach tune to " + cg.relative()), std::string::npos) << log;
	EXPECT_NE(log.find("stopped; attachments stay in place"), std::string::npos) << log;
	EXPECT_EQ(cwnd_param(inst), "16");
	::remove(file.c_str());
}

TEST_F(DaemonTest, DetachOnExitRemovesEverythingAndJournalGetsPriorities)
{
	ScopedCgroup cg;
	ScopedInstance inst;
	const std::string file = "/tmp/" + unique_name("tcpxi-daemon-", 40) + ".toml";
	std::ofstream(file) << config_for(cg, 15) << "cubic = {}\n";
	NotifySocket notify;
	setenv("JOURNAL_STREAM", "0:0", 1);
	Daemon daemon({"--instance", inst.name(), "daemon", "--detach-on-exit", "--config", file}, notify.name());
	unsetenv("JOURNAL_STREAM");
	std::string ready = notify.until("READY=1");
	ASSERT_NE(ready.find("READY=1"), std::string::npos) << ready << daemon.log();
	EXPECT_NE(ready.find("2 attachments in 1 cgroups, 1 congestion controls"), std::string::npos) << ready;
	daemon.signal(SIGTERM);
	EXPECT_EQ(daemon.wait(), 0);
	std::string log = daemon.log();
	EXPECT_NE(log.find("<6>stopped; attachments removed"), std::string::npos) << log;
	Status status = inst.tcpxi().status();
	EXPECT_TRUE(status.attachments.empty());
	EXPECT_TRUE(status.congestion_controls.empty());
	::remove(file.c_str());
}

TEST_F(DaemonTest, ABadConfigAtStartFailsWithoutReady)
{
	ScopedInstance inst;
	const std::string file = "/tmp/" + unique_name("tcpxi-daemon-", 40) + ".toml";
	std::ofstream(file) << "bogus = 1\n";
	NotifySocket notify;
	Daemon daemon({"--instance", inst.name(), "daemon", "--config", file}, notify.name());
	EXPECT_EQ(daemon.wait(), 2);
	std::string messages = notify.until("READY=1");
	EXPECT_EQ(messages.find("READY=1"), std::string::npos) << messages;
	EXPECT_NE(messages.find("STATUS=failed: " + file + ":1:1: unknown key 'bogus'"), std::string::npos) << messages;
	::remove(file.c_str());
}

} // namespace
} // namespace tcpxi::test
