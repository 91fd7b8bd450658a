// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tcpxi {

// Where a section's bytes lie inside an ELF image.
struct SectionRange {
	size_t offset = 0;
	size_t size = 0;
};

// Finds a section by name; nullopt if absent. Throws Error if the image is not ELF.
std::optional<SectionRange> find_elf_section(std::span<const uint8_t> image, std::string_view name,
					     std::string_view origin);

} // namespace tcpxi
