// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tcpxi {

// Cgroup links are pinned as <pin_dir>/links/<cgroup id>/<sock_ops plugin>: one
// directory per cgroup, so `detach --all` and `status CGROUP` read one directory.
struct LinkPin {
	uint64_t cgroup_id = 0;
	std::string plugin;
	std::string path;
};

class LinkPins {
public:
	explicit LinkPins(std::string pin_dir) : root_(std::move(pin_dir) + "/links") {}

	std::string path(uint64_t cgroup_id, const std::string &plugin) const;
	std::vector<LinkPin> all() const;
	std::vector<LinkPin> of_cgroup(uint64_t cgroup_id) const;
	std::vector<LinkPin> of_plugin(const std::string &plugin) const;

	void pin(int link_fd, uint64_t cgroup_id, const std::string &plugin) const;
	// Whether the kernel still has the pinned link attached to its cgroup.
	bool is_attached(const LinkPin &pin) const;
	// Detaches the link in the kernel and removes its pin.
	void detach(const LinkPin &pin) const;

private:
	std::string root_;
};

} // namespace tcpxi
