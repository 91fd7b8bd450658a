// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "elf_section.hpp"

#include <gelf.h>
#include <libelf.h>

#include <memory>
#include <string>
#include <vector>

#include <tcpxi/error.hpp>

namespace tcpxi {

std::optional<SectionRange> find_elf_section(std::span<const uint8_t> image, std::string_view name,
					     std::string_view origin)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		throw Error(ErrorKind::kernel, "libelf is unusable: " + std::string(elf_errmsg(-1)));
	// elf_memory wants a mutable buffer; it only reads here.
	std::vector<char> copy(image.begin(), image.end());
	std::unique_ptr<Elf, decltype(&elf_end)> elf(elf_memory(copy.data(), copy.size()), &elf_end);
	size_t shstrndx = 0;
	if (!elf || elf_kind(elf.get()) != ELF_K_ELF || elf_getshdrstrndx(elf.get(), &shstrndx))
		throw Error(ErrorKind::usage, std::string(origin) + ": not an ELF object (build it with clang -target bpf)");
	for (Elf_Scn *scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
		GElf_Shdr shdr;
		if (!gelf_getshdr(scn, &shdr))
			continue;
		const char *scn_name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
		if (!scn_name || name != scn_name)
			continue;
		if (shdr.sh_type == SHT_NOBITS || shdr.sh_offset + shdr.sh_size > image.size())
			return std::nullopt;
		return SectionRange{shdr.sh_offset, shdr.sh_size};
	}
	return std::nullopt;
}

} // namespace tcpxi
