// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <tcpxi/manifest.hpp>
#include <tcpxi/params.hpp>
#include <tcpxi/tcpxi.hpp>

namespace tcpxi {

// Where each member of a cgroup-storage value lies, read from the map's BTF in the
// kernel: the loader needs no plugin-specific struct definitions.
struct StorageLayout {
	uint32_t value_size = 0;
	struct Field {
		uint32_t offset = 0;
		uint32_t size = 0;
	};
	std::map<std::string, Field> fields;
	std::vector<std::string> order; // member names as declared
};

StorageLayout storage_layout(int map_fd);

// True when storage written with this layout means what `manifest` says: the same
// parameters in the same order (the order numbers the bits of `set`). A program
// pinned by another tcpxi build may differ.
bool params_match(const StorageLayout &layout, const Manifest &manifest);

// The parameters of one attachment (cgroup id), from its cgroup storage.
ParamValues read_params(int map_fd, const StorageLayout &layout, const Manifest &manifest, uint64_t cgroup_id);

// Bit 63 of `set`, kept by the loader (TCPXI_SET_NESTED in bpf/include/tcpxi/plugin.h):
// the attachment has another attachment of the same plugin above or below it.
inline constexpr uint64_t kSetNested = 1ULL << 63;

// Sets or clears kSetNested of one attachment; false when its storage is gone.
bool set_nested(int map_fd, const StorageLayout &layout, uint64_t cgroup_id, bool nested);

// Writes the whole parameter set of an attachment in one map update, so the program
// never sees a half-written set. The nested bit is kept as it is.
void write_params(int map_fd, const StorageLayout &layout, const Manifest &manifest, uint64_t cgroup_id,
		  const ParamValues &values);

// Counters of one attachment, summed over CPUs, in manifest order.
std::vector<CounterValue> read_counters(int map_fd, const StorageLayout &layout, const Manifest &manifest,
					uint64_t cgroup_id);

} // namespace tcpxi
