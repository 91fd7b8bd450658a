// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Fixtures for tests that change the kernel: every one creates its object under a
// unique name and removes it in its destructor, so a failing test still cleans up.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <tcpxi/tcpxi.hpp>

namespace tcpxi::test {

// Why kernel tests cannot run here, or "" if they can (root, cgroup2, bpffs).
std::string kernel_test_blocker();

// A unique name: prefix + pid + counter, at most `max_len` characters.
std::string unique_name(const std::string &prefix, size_t max_len = 15);

// Runs a shell command; throws with its output when it fails.
std::string run(const std::string &command);

// A fresh cgroup v2 directory under the cgroup2 mount.
class ScopedCgroup {
public:
	explicit ScopedCgroup(const std::string &parent = "");
	~ScopedCgroup();
	ScopedCgroup(const ScopedCgroup &) = delete;
	ScopedCgroup &operator=(const ScopedCgroup &) = delete;

	const std::string &relative() const { return relative_; } // e.g. "/tcpxi-t-123-1"
	const std::string &path() const { return path_; }
	uint64_t id() const;

private:
	std::string relative_;
	std::string path_;
};

// A tcpxi instance of its own (pins, congestion-control names); torn down whole.
class ScopedInstance {
public:
	ScopedInstance();
	~ScopedInstance();
	ScopedInstance(const ScopedInstance &) = delete;
	ScopedInstance &operator=(const ScopedInstance &) = delete;

	Tcpxi &tcpxi() { return tcpxi_; }
	const std::string &name() const { return name_; }

private:
	std::string name_;
	Tcpxi tcpxi_;
};

// A network namespace with a veth pair to the test's own namespace:
// here: <local_if> 10.x.y.1/24 fd00:x:y::1/64, there: <peer_if> .2 and ::2.
class ScopedVethPeer {
public:
	ScopedVethPeer();
	~ScopedVethPeer();
	ScopedVethPeer(const ScopedVethPeer &) = delete;
	ScopedVethPeer &operator=(const ScopedVethPeer &) = delete;

	const std::string &netns() const { return netns_; }
	const std::string &local_if() const { return local_if_; }
	const std::string &peer_if() const { return peer_if_; }
	std::string local_addr(bool v6) const;
	std::string peer_addr(bool v6) const;

private:
	std::string netns_, local_if_, peer_if_;
	unsigned subnet_ = 0;
};

// Where a child process runs: which cgroup it joins and which netns it enters.
struct Place {
	std::string cgroup_path; // absolute; empty: stay in the test's cgroup
	std::string netns;       // name under /run/netns; empty: the test's netns
};

// A child process that reports over a pipe, line by line.
class Child {
public:
	Child(const Place &place, std::function<void(int out_fd)> body);
	~Child();
	Child(const Child &) = delete;
	Child &operator=(const Child &) = delete;

	std::string read_line(int timeout_ms = 10000);
	int wait(); // exit status

private:
	pid_t pid_ = -1;
	int out_ = -1;
	std::string buffer_;
};

void write_line(int fd, const std::string &line);

// key=value pairs of a line such as "cc=reno snd_cwnd=10".
std::map<std::string, std::string> parse_fields(const std::string &line);

} // namespace tcpxi::test
