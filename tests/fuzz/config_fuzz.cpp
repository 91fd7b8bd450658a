// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// libFuzzer target for the config loader: any input either parses or throws one
// tcpxi::Error whose message is one line starting with "fuzz.toml:"; anything else
// (another exception, a crash, a sanitizer report) is a bug.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <tcpxi/config.hpp>
#include <tcpxi/error.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try {
		tcpxi::parse_config(std::string_view(reinterpret_cast<const char *>(data), size), "fuzz.toml");
	} catch (const tcpxi::Error &e) {
		std::string message = e.what();
		if (message.find('\n') != std::string::npos || message.rfind("fuzz.toml:", 0) != 0)
			abort();
	}
	return 0;
}
