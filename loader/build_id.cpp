// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "build_id.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdlib>

#include <tcpxi/error.hpp>

namespace tcpxi {

uint64_t build_id(const Plugin &plugin)
{
	uint64_t hash = 1469598103934665603ull;
	auto mix = [&hash](uint8_t byte) {
		hash ^= byte;
		hash *= 1099511628211ull;
	};
	for (uint8_t byte : plugin.object)
		mix(byte);
	if (const char *salt = getenv("TCPXI_TEST_BUILD_SALT"))
		for (const char *c = salt; *c; c++)
			mix(static_cast<uint8_t>(*c));
	return hash;
}

UniqueFd make_build_map(uint64_t id)
{
	UniqueFd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, "tcpxi_build", sizeof(uint32_t), sizeof(uint64_t), 1, nullptr));
	if (!map)
		throw_errno(errno, "cannot create the build-identity map");
	uint32_t zero = 0;
	if (bpf_map_update_elem(map.get(), &zero, &id, BPF_ANY))
		throw_errno(errno, "cannot write the build-identity map");
	return map;
}

std::optional<uint64_t> read_build_pin(const std::string &path)
{
	UniqueFd map(bpf_obj_get(path.c_str()));
	if (!map)
		return std::nullopt;
	uint32_t zero = 0;
	uint64_t id = 0;
	if (bpf_map_lookup_elem(map.get(), &zero, &id))
		return std::nullopt;
	return id;
}

} // namespace tcpxi
