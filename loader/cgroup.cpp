// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <tcpxi/cgroup.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>

#include <tcpxi/error.hpp>

#include "mounts.hpp"

namespace fs = std::filesystem;

namespace tcpxi {

namespace {

long fs_magic(const std::string &path)
{
	struct statfs st {};
	if (statfs(path.c_str(), &st))
		return 0;
	return st.f_type;
}

std::string relative_to(const std::string &mount, const std::string &path)
{
	if (path == mount)
		return "/";
	return path.substr(mount.size());
}

Cgroup open_cgroup(const std::string &mount, const std::string &path, const std::string &spec)
{
	Cgroup cg;
	cg.fd.reset(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!cg.fd)
		throw_errno(errno, "cannot open cgroup '" + spec + "' at " + path);
	struct stat st {};
	if (fstat(cg.fd.get(), &st))
		throw_errno(errno, "cannot stat cgroup '" + spec + "'");
	std::error_code ec;
	cg.path = fs::canonical(path, ec).string();
	if (ec)
		cg.path = path;
	cg.relative = relative_to(mount, cg.path);
	cg.id = st.st_ino;
	return cg;
}

} // namespace

std::string cgroup2_mount()
{
	if (auto mount = find_mount("cgroup2"))
		return *mount;
	throw Error(ErrorKind::unsupported,
		    "no cgroup2 file system is mounted (mount one: mount -t cgroup2 none /sys/fs/cgroup)");
}

Cgroup resolve_cgroup(const std::string &spec)
{
	const std::string mount = cgroup2_mount();
	if (spec.empty())
		throw Error(ErrorKind::usage, "empty cgroup: give a path relative to " + mount +
						      ", an absolute path or a cgroup id");

	if (std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; })) {
		uint64_t id = 0;
		std::from_chars(spec.data(), spec.data() + spec.size(), id);
		for (const auto &[cg_id, relative] : cgroup_paths_by_id())
			if (cg_id == id)
				return open_cgroup(mount, relative == "/" ? mount : mount + relative, spec);
		throw Error(ErrorKind::usage, "no cgroup with id " + spec + " under " + mount +
						      " (list ids with `tcpxi status` or `bpftool cgroup tree`)");
	}

	std::string path;
	if (spec.front() == '/' && fs::is_directory(spec) && fs_magic(spec) == CGROUP2_SUPER_MAGIC) {
		path = spec;
	} else if (spec.front() == '/' && fs::exists(spec) && fs_magic(spec) == CGROUP_SUPER_MAGIC) {
		throw Error(ErrorKind::usage, "'" + spec + "' is in a cgroup v1 hierarchy; tcpxi attaches to cgroup v2: use a path under " + mount);
	} else if (spec.front() == '/' && fs::exists(spec) && !fs::exists(mount + spec)) {
		throw Error(ErrorKind::usage, "'" + spec + "' is not a cgroup v2 directory: give a path under " + mount +
						      ", relative to it, or a cgroup id");
	} else {
		path = mount + (spec.front() == '/' ? "" : "/") + spec;
		if (!fs::is_directory(path))
			throw Error(ErrorKind::usage, "cgroup '" + spec + "' not found under " + mount +
							      " (create it with mkdir, or give an existing path or cgroup id)");
		if (fs_magic(path) != CGROUP2_SUPER_MAGIC)
			throw Error(ErrorKind::usage, "'" + path + "' is not a cgroup v2 directory");
	}
	std::string canonical = fs::canonical(path).string();
	if (canonical != mount && canonical.rfind(mount + "/", 0) != 0)
		throw Error(ErrorKind::usage, "'" + spec + "' is outside the cgroup2 mount " + mount);
	return open_cgroup(mount, canonical, spec);
}

namespace {

// Directories only, inode from d_ino: a cgroup directory holds dozens of control
// files, and stat()ing or even listing them as entries costs more than the walk.
void walk_cgroups(const std::string &dir, const std::string &relative,
		  std::unordered_map<uint64_t, std::string> &paths, int depth)
{
	if (depth > 64)
		return;
	DIR *d = opendir(dir.c_str());
	if (!d)
		return;
	while (dirent *entry = readdir(d)) {
		if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
			continue;
		std::string child = relative == "/" ? "/" + std::string(entry->d_name)
						    : relative + "/" + entry->d_name;
		paths[entry->d_ino] = child;
		walk_cgroups(dir + "/" + entry->d_name, child, paths, depth + 1);
	}
	closedir(d);
}

} // namespace

std::unordered_map<uint64_t, std::string> cgroup_paths_by_id()
{
	const std::string mount = cgroup2_mount();
	std::unordered_map<uint64_t, std::string> paths;
	struct stat st {};
	if (!stat(mount.c_str(), &st))
		paths[st.st_ino] = "/";
	walk_cgroups(mount, "/", paths, 0);
	return paths;
}

} // namespace tcpxi
