// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "mounts.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace tcpxi {

namespace {

// /proc/mounts escapes spaces and tabs as octal (\040).
std::string unescape_mount_path(const std::string &text)
{
	std::string out;
	for (size_t i = 0; i < text.size(); i++) {
		if (text[i] == '\\' && i + 3 < text.size()) {
			int value = 0;
			auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 4, value, 8);
			if (ec == std::errc() && end == text.data() + i + 4) {
				out += static_cast<char>(value);
				i += 3;
				continue;
			}
		}
		out += text[i];
	}
	return out;
}

} // namespace

std::optional<std::string> find_mount(const std::string &type)
{
	std::ifstream mounts("/proc/mounts");
	std::string line;
	while (std::getline(mounts, line)) {
		std::istringstream fields(line);
		std::string source, target, fstype;
		fields >> source >> target >> fstype;
		if (fstype == type)
			return unescape_mount_path(target);
	}
	return std::nullopt;
}

} // namespace tcpxi
