// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "bpffs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <tcpxi/error.hpp>

#include "mounts.hpp"

namespace tcpxi {

std::string bpffs_mount()
{
	if (auto mount = find_mount("bpf"))
		return *mount;
	const std::string target = "/sys/fs/bpf";
	mkdir(target.c_str(), 0700);
	if (mount("bpf", target.c_str(), "bpf", 0, "mode=0700"))
		throw_errno(errno, "bpffs is not mounted and mounting it at " + target + " failed",
			    "mount it: mount -t bpf bpf " + target);
	return target;
}

void make_pin_dirs(const std::string &path)
{
	for (size_t pos = 1; pos != std::string::npos;) {
		pos = path.find('/', pos + 1);
		std::string prefix = path.substr(0, pos);
		if (mkdir(prefix.c_str(), 0700) && errno != EEXIST)
			throw_errno(errno, "cannot create " + prefix + " in bpffs");
	}
}

std::vector<std::string> list_pin_dir(const std::string &path)
{
	std::vector<std::string> names;
	DIR *dir = opendir(path.c_str());
	if (!dir)
		return names;
	while (dirent *entry = readdir(dir)) {
		std::string name = entry->d_name;
		if (name != "." && name != "..")
			names.push_back(name);
	}
	closedir(dir);
	return names;
}

bool pin_exists(const std::string &path)
{
	struct stat st {};
	return lstat(path.c_str(), &st) == 0;
}

void remove_pin(const std::string &path)
{
	if (remove(path.c_str()) && errno != ENOENT && errno != ENOTEMPTY)
		throw_errno(errno, "cannot remove " + path);
}

InstanceLock::InstanceLock(const std::string &pin_dir, int wait_seconds)
{
	make_pin_dirs(pin_dir);
	dir_.reset(open(pin_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!dir_)
		throw_errno(errno, "cannot open " + pin_dir);
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
	while (flock(dir_.get(), LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK)
			throw_errno(errno, "cannot lock " + pin_dir);
		if (std::chrono::steady_clock::now() >= deadline)
			throw Error(ErrorKind::busy, "another tcpxi is changing " + pin_dir +
							     "; retry when it is done, or wait longer with --wait SECONDS");
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
}

} // namespace tcpxi
