// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "kernel_env.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace tcpxi::test {

namespace {

std::atomic<unsigned> counter{0};

void move_procs(const std::string &from, const std::string &to)
{
	std::ifstream procs(from + "/cgroup.procs");
	std::string pid;
	while (procs >> pid) {
		std::ofstream target(to + "/cgroup.procs");
		target << pid;
	}
}

} // namespace

std::string kernel_test_blocker()
{
	if (geteuid() != 0)
		return "kernel tests need root (they load BPF programs, create cgroups and network namespaces)";
	try {
		cgroup2_mount();
	} catch (const std::exception &e) {
		return e.what();
	}
	if (!fs::exists("/sys/kernel/btf/vmlinux"))
		return "the kernel has no BTF (/sys/kernel/btf/vmlinux): struct_ops and CO-RE need it";
	return "";
}

std::string unique_name(const std::string &prefix, size_t max_len)
{
	std::string name = prefix + std::to_string(getpid() % 100000) + std::to_string(counter++);
	if (name.size() > max_len)
		name = name.substr(name.size() - max_len);
	return name;
}

std::string run(const std::string &command)
{
	std::string output;
	FILE *pipe = popen((command + " 2>&1").c_str(), "r");
	if (!pipe)
		throw std::runtime_error("cannot run: " + command);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0)
		output.append(buf, n);
	int status = pclose(pipe);
	if (status != 0)
		throw std::runtime_error("`" + command + "` failed: " + output);
	return output;
}

ScopedCgroup::ScopedCgroup(const std::string &parent)
{
	const std::string mount = cgroup2_mount();
	relative_ = parent + "/" + unique_name("tcpxi-t", 24);
	path_ = mount + relative_;
	if (mkdir(path_.c_str(), 0755))
		throw std::runtime_error("cannot create cgroup " + path_ + ": " + strerror(errno));
}

ScopedCgroup::~ScopedCgroup()
{
	// Children that outlived a failed test are moved out, or rmdir fails with EBUSY.
	const std::string mount = cgroup2_mount();
	for (int i = 0; i < 50; i++) {
		move_procs(path_, mount);
		if (!rmdir(path_.c_str()) || errno == ENOENT)
			return;
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	fprintf(stderr, "warning: cannot remove cgroup %s: %s\n", path_.c_str(), strerror(errno));
}

uint64_t ScopedCgroup::id() const
{
	struct stat st {};
	stat(path_.c_str(), &st);
	return st.st_ino;
}

namespace {

// "tcpxi" and four random characters: 9 characters leave room for "_cubic" in a
// 15-character algorithm name, and the prefix shows whose pins they are.
std::string fresh_instance_name()
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	std::random_device random;
	for (;;) {
		std::string name = "tcpxi";
		for (int i = 0; i < 4; i++)
			name += alphabet[random() % 36];
		if (!fs::exists("/sys/fs/bpf/" + name))
			return name;
	}
}

} // namespace

ScopedInstance::ScopedInstance() : name_(fresh_instance_name()), tcpxi_(Options{name_, 5}) {}

ScopedInstance::~ScopedInstance()
{
	// Detach through tcpxi first (it unregisters congestion controls), then sweep
	// whatever pins remain, bottom-up.
	try {
		for (const auto &att : tcpxi_.status().attachments)
			tcpxi_.detach_all(std::to_string(att.cgroup_id));
	} catch (const std::exception &e) {
		fprintf(stderr, "warning: cleanup of instance %s: %s\n", name_.c_str(), e.what());
	}
	std::error_code ec;
	const std::string dir = tcpxi_.pin_dir();
	if (fs::exists(dir, ec)) {
		std::vector<fs::path> entries;
		for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); ++it)
			entries.push_back(it->path());
		for (auto it = entries.rbegin(); it != entries.rend(); ++it)
			::remove(it->c_str());
		::remove(dir.c_str());
	}
}

ScopedVethPeer::ScopedVethPeer()
{
	static std::atomic<unsigned> next_subnet{0};
	subnet_ = (getpid() % 200) * 50 + next_subnet++ % 50;
	netns_ = unique_name("tcpxi-t", 24);
	local_if_ = unique_name("txa", 15);
	peer_if_ = unique_name("txb", 15);
	std::ostringstream cmd;
	cmd << "ip netns add " << netns_ << " && ip link add " << local_if_ << " type veth peer name " << peer_if_
	    << " netns " << netns_ << " && ip addr add " << local_addr(false) << "/24 dev " << local_if_
	    << " && ip addr add " << local_addr(true) << "/64 dev " << local_if_ << " nodad"
	    << " && ip link set " << local_if_ << " up"
	    << " && ip -n " << netns_ << " addr add " << peer_addr(false) << "/24 dev " << peer_if_
	    << " && ip -n " << netns_ << " addr add " << peer_addr(true) << "/64 dev " << peer_if_ << " nodad"
	    << " && ip -n " << netns_ << " link set " << peer_if_ << " up"
	    << " && ip -n " << netns_ << " link set lo up";
	try {
		run(cmd.str());
	} catch (...) {
		run("ip netns del " + netns_ + " 2>/dev/null; ip link del " + local_if_ + " 2>/dev/null; true");
		throw;
	}
}

ScopedVethPeer::~ScopedVethPeer()
{
	// Deleting the namespace deletes the peer end, and with it the pair.
	try {
		run("ip link del " + local_if_ + " 2>/dev/null; ip netns del " + netns_);
	} catch (const std::exception &e) {
		fprintf(stderr, "warning: %s\n", e.what());
	}
}

std::string ScopedVethPeer::local_addr(bool v6) const
{
	return v6 ? "fd00:" + std::to_string(subnet_) + "::1" : "10.213." + std::to_string(subnet_ % 250) + ".1";
}

std::string ScopedVethPeer::peer_addr(bool v6) const
{
	return v6 ? "fd00:" + std::to_string(subnet_) + "::2" : "10.213." + std::to_string(subnet_ % 250) + ".2";
}

Child::Child(const Place &place, std::function<void(int out_fd)> body)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		throw std::runtime_error("pipe failed");
	pid_ = fork();
	if (pid_ < 0)
		throw std::runtime_error("fork failed");
	if (pid_ == 0) {
		close(fds[0]);
		signal(SIGPIPE, SIG_IGN);
		try {
			if (!place.cgroup_path.empty()) {
				std::ofstream procs(place.cgroup_path + "/cgroup.procs");
				procs << getpid();
				procs.close();
				if (!procs)
					throw std::runtime_error("cannot join cgroup " + place.cgroup_path);
			}
			if (!place.netns.empty()) {
				int ns = open(("/run/netns/" + place.netns).c_str(), O_RDONLY | O_CLOEXEC);
				if (ns < 0 || setns(ns, CLONE_NEWNET))
					throw std::runtime_error("cannot enter netns " + place.netns);
				close(ns);
			}
			body(fds[1]);
			_exit(0);
		} catch (const std::exception &e) {
			write_line(fds[1], std::string("error=") + e.what());
			_exit(1);
		}
	}
	close(fds[1]);
	out_ = fds[0];
}

Child::~Child()
{
	if (pid_ > 0) {
		kill(pid_, SIGKILL);
		wait();
	}
	if (out_ >= 0)
		close(out_);
}

std::string Child::read_line(int timeout_ms)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
	for (;;) {
		auto nl = buffer_.find('\n');
		if (nl != std::string::npos) {
			std::string line = buffer_.substr(0, nl);
			buffer_.erase(0, nl + 1);
			return line;
		}
		int left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
		if (left <= 0)
			return "error=timeout waiting for the child";
		pollfd pfd{out_, POLLIN, 0};
		if (poll(&pfd, 1, left) <= 0)
			continue;
		char buf[1024];
		ssize_t n = ::read(out_, buf, sizeof(buf));
		if (n <= 0)
			return buffer_.empty() ? "error=child exited without a report" : std::exchange(buffer_, "");
		buffer_.append(buf, n);
	}
}

int Child::wait()
{
	if (pid_ <= 0)
		return -1;
	int status = 0;
	waitpid(pid_, &status, 0);
	pid_ = -1;
	return status;
}

void write_line(int fd, const std::string &line)
{
	std::string text = line + "\n";
	(void)!::write(fd, text.data(), text.size());
}

std::map<std::string, std::string> parse_fields(const std::string &line)
{
	std::map<std::string, std::string> fields;
	std::istringstream in(line);
	std::string token;
	while (in >> token) {
		auto eq = token.find('=');
		if (eq != std::string::npos)
			fields[token.substr(0, eq)] = token.substr(eq + 1);
	}
	if (line.rfind("error=", 0) == 0)
		fields["error"] = line.substr(6);
	return fields;
}

} // namespace tcpxi::test
