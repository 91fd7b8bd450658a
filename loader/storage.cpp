// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "storage.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <tcpxi/error.hpp>

namespace tcpxi {

namespace {

bpf_cgroup_storage_key storage_key(uint64_t cgroup_id)
{
	bpf_cgroup_storage_key key {};
	key.cgroup_inode_id = cgroup_id;
	key.attach_type = BPF_CGROUP_SOCK_OPS;
	return key;
}

uint64_t load_uint(const uint8_t *data, uint32_t size)
{
	if (size == 8) {
		uint64_t v;
		memcpy(&v, data, 8);
		return v;
	}
	uint32_t v = 0;
	memcpy(&v, data, std::min<uint32_t>(size, 4));
	return v;
}

void store_uint(uint8_t *data, uint32_t size, uint64_t value)
{
	if (size == 8) {
		memcpy(data, &value, 8);
	} else {
		uint32_t v = static_cast<uint32_t>(value);
		memcpy(data, &v, std::min<uint32_t>(size, 4));
	}
}

const StorageLayout::Field &field(const StorageLayout &layout, const std::string &name)
{
	auto it = layout.fields.find(name);
	if (it == layout.fields.end())
		throw Error(ErrorKind::usage, "plugin storage has no member '" + name +
						      "': the object's manifest and its TCPXI_PARAMS disagree");
	return it->second;
}

} // namespace

StorageLayout storage_layout(int map_fd)
{
	bpf_map_info info {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		throw_errno(errno, "cannot read map info");
	std::unique_ptr<btf, decltype(&btf__free)> types(btf__load_from_kernel_by_id(info.btf_id), &btf__free);
	if (!types)
		throw_errno(errno, "cannot read the BTF of map " + std::string(info.name));
	const btf_type *value = btf__type_by_id(types.get(), info.btf_value_type_id);
	if (!value || !btf_is_struct(value))
		throw Error(ErrorKind::usage, "map " + std::string(info.name) + " has no struct value type in BTF");
	StorageLayout layout;
	layout.value_size = info.value_size;
	const btf_member *member = btf_members(value);
	for (unsigned i = 0; i < btf_vlen(value); i++, member++) {
		const char *name = btf__name_by_offset(types.get(), member->name_off);
		long size = btf__resolve_size(types.get(), member->type);
		if (!name || size < 0)
			continue;
		layout.fields[name] = {btf_member_bit_offset(value, i) / 8, static_cast<uint32_t>(size)};
		layout.order.push_back(name);
	}
	return layout;
}

bool set_nested(int map_fd, const StorageLayout &layout, uint64_t cgroup_id, bool nested)
{
	std::vector<uint8_t> value(layout.value_size);
	auto key = storage_key(cgroup_id);
	if (bpf_map_lookup_elem(map_fd, &key, value.data()))
		return false;
	const auto &set_field = field(layout, "set");
	uint64_t set = load_uint(value.data() + set_field.offset, set_field.size);
	uint64_t wanted = nested ? set | kSetNested : set & ~kSetNested;
	if (wanted == set)
		return true;
	store_uint(value.data() + set_field.offset, set_field.size, wanted);
	return !bpf_map_update_elem(map_fd, &key, value.data(), BPF_EXIST);
}

bool params_match(const StorageLayout &layout, const Manifest &manifest)
{
	std::vector<std::string> expected{"set"};
	for (const auto &spec : manifest.params)
		expected.push_back(spec.name);
	return layout.order == expected;
}

ParamValues read_params(int map_fd, const StorageLayout &layout, const Manifest &manifest, uint64_t cgroup_id)
{
	std::vector<uint8_t> value(layout.value_size);
	auto key = storage_key(cgroup_id);
	if (bpf_map_lookup_elem(map_fd, &key, value.data()))
		throw_errno(errno, "cannot read the parameters of cgroup id " + std::to_string(cgroup_id));
	const auto &set_field = field(layout, "set");
	uint64_t set = load_uint(value.data() + set_field.offset, set_field.size);
	ParamValues values;
	for (size_t i = 0; i < manifest.params.size(); i++) {
		if (!((set >> i) & 1))
			continue;
		const ParamSpec &spec = manifest.params[i];
		const auto &f = field(layout, spec.name);
		if (spec.type == ParamType::str) {
			const char *text = reinterpret_cast<const char *>(value.data() + f.offset);
			values[spec.name] = std::string(text, strnlen(text, f.size));
		} else {
			values[spec.name] = load_uint(value.data() + f.offset, f.size);
		}
	}
	return values;
}

void write_params(int map_fd, const StorageLayout &layout, const Manifest &manifest, uint64_t cgroup_id,
		  const ParamValues &values)
{
	std::vector<uint8_t> value(layout.value_size, 0);
	uint64_t set = 0;
	for (size_t i = 0; i < manifest.params.size(); i++) {
		const ParamSpec &spec = manifest.params[i];
		auto given = values.find(spec.name);
		if (given == values.end())
			continue;
		const auto &f = field(layout, spec.name);
		if (const auto *text = std::get_if<std::string>(&given->second)) {
			if (text->size() >= f.size)
				throw Error(ErrorKind::usage, "value of " + spec.name + " is too long");
			memcpy(value.data() + f.offset, text->data(), text->size());
		} else {
			store_uint(value.data() + f.offset, f.size, std::get<uint64_t>(given->second));
		}
		set |= 1ULL << i;
	}
	const auto &set_field = field(layout, "set");
	auto key = storage_key(cgroup_id);
	std::vector<uint8_t> current(layout.value_size);
	if (!bpf_map_lookup_elem(map_fd, &key, current.data()))
		set |= load_uint(current.data() + set_field.offset, set_field.size) & kSetNested;
	store_uint(value.data() + set_field.offset, set_field.size, set);
	if (bpf_map_update_elem(map_fd, &key, value.data(), BPF_EXIST))
		throw_errno(errno, "cannot write the parameters of cgroup id " + std::to_string(cgroup_id));
}

std::vector<CounterValue> read_counters(int map_fd, const StorageLayout &layout, const Manifest &manifest,
					uint64_t cgroup_id)
{
	int cpus = libbpf_num_possible_cpus();
	if (cpus <= 0)
		throw_errno(cpus, "cannot count possible CPUs");
	// Per-CPU values are laid out at an 8-byte stride.
	size_t stride = (layout.value_size + 7) / 8 * 8;
	std::vector<uint8_t> values(stride * cpus);
	auto key = storage_key(cgroup_id);
	if (bpf_map_lookup_elem(map_fd, &key, values.data()))
		throw_errno(errno, "cannot read the counters of cgroup id " + std::to_string(cgroup_id));
	std::vector<CounterValue> counters;
	for (const auto &spec : manifest.counters) {
		const auto &f = field(layout, spec.name);
		uint64_t sum = 0;
		for (int cpu = 0; cpu < cpus; cpu++)
			sum += load_uint(values.data() + cpu * stride + f.offset, f.size);
		counters.push_back({spec.name, sum});
	}
	return counters;
}

} // namespace tcpxi
