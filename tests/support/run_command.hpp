// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <string>
#include <vector>

namespace tcpxi::test {

struct CommandResult {
	int exit_code = -1;
	std::string out;
	std::string err;
};

// Runs argv[0] with arguments, without a shell; collects stdout, stderr, exit code.
CommandResult run_command(const std::vector<std::string> &argv);

// The tcpxi binary built alongside the tests.
CommandResult run_tcpxi(const std::vector<std::string> &args);

} // namespace tcpxi::test
