// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "link_pins.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <charconv>

#include <tcpxi/error.hpp>
#include <tcpxi/unique_fd.hpp>

#include "bpffs.hpp"

namespace tcpxi {

std::string LinkPins::path(uint64_t cgroup_id, const std::string &plugin) const
{
	return root_ + "/" + std::to_string(cgroup_id) + "/" + plugin;
}

std::vector<LinkPin> LinkPins::of_cgroup(uint64_t cgroup_id) const
{
	std::vector<LinkPin> pins;
	const std::string dir = root_ + "/" + std::to_string(cgroup_id);
	for (const auto &plugin : list_pin_dir(dir))
		pins.push_back({cgroup_id, plugin, dir + "/" + plugin});
	return pins;
}

std::vector<LinkPin> LinkPins::all() const
{
	std::vector<LinkPin> pins;
	for (const auto &name : list_pin_dir(root_)) {
		uint64_t id = 0;
		auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
		if (ec != std::errc() || end != name.data() + name.size())
			continue;
		auto cgroup_pins = of_cgroup(id);
		pins.insert(pins.end(), cgroup_pins.begin(), cgroup_pins.end());
	}
	return pins;
}

std::vector<LinkPin> LinkPins::of_plugin(const std::string &plugin) const
{
	std::vector<LinkPin> pins;
	for (auto &pin : all())
		if (pin.plugin == plugin)
			pins.push_back(std::move(pin));
	return pins;
}

void LinkPins::pin(int link_fd, uint64_t cgroup_id, const std::string &plugin) const
{
	make_pin_dirs(root_ + "/" + std::to_string(cgroup_id));
	const std::string target = path(cgroup_id, plugin);
	if (bpf_obj_pin(link_fd, target.c_str()))
		throw_errno(errno, "cannot pin " + target);
}

bool LinkPins::is_attached(const LinkPin &pin) const
{
	UniqueFd link(bpf_obj_get(pin.path.c_str()));
	if (!link)
		return false;
	bpf_link_info info {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(link.get(), &info, &len))
		return false;
	return info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == pin.cgroup_id;
}

void LinkPins::detach(const LinkPin &pin) const
{
	UniqueFd link(bpf_obj_get(pin.path.c_str()));
	// An explicit detach takes effect even if another process holds the link open.
	if (link)
		bpf_link_detach(link.get());
	remove_pin(pin.path);
	remove_pin(root_ + "/" + std::to_string(pin.cgroup_id)); // only if now empty
}

} // namespace tcpxi
