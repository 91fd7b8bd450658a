// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "libbpf_log.hpp"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>

namespace tcpxi {

namespace {

int verbosity_level = 0;

int print_libbpf(enum libbpf_print_level level, const char *format, va_list args)
{
	if (verbosity_level < 1 || (level == LIBBPF_DEBUG && verbosity_level < 2))
		return 0;
	return vfprintf(stderr, format, args);
}

} // namespace

void set_libbpf_verbosity(int verbosity)
{
	verbosity_level = verbosity;
	libbpf_set_print(print_libbpf);
}

} // namespace tcpxi
