// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <stdexcept>
#include <string>

namespace tcpxi {

// Exit codes of the `tcpxi` command; scripts may rely on them.
enum class ErrorKind : int {
	kernel = 1,      // the kernel refused an operation (errno in the message)
	usage = 2,       // bad input: unknown plugin, parameter, value, cgroup, option
	conflict = 3,    // the state does not allow it: already attached, not attached
	permission = 4,  // not root / missing capability
	busy = 5,        // another tcpxi holds the lock
	unsupported = 6, // this kernel lacks a feature the operation needs
};

// Every error tcpxi reports is one line that names the problem and the fix.
class Error : public std::runtime_error {
public:
	Error(ErrorKind kind, const std::string &message) : std::runtime_error(message), kind_(kind) {}
	ErrorKind kind() const { return kind_; }
	int exit_code() const { return static_cast<int>(kind_); }

private:
	ErrorKind kind_;
};

// Builds a kernel error from errno: "<what>: <strerror> (<hint>)".
[[noreturn]] void throw_errno(int err, const std::string &what, const std::string &hint = {});

} // namespace tcpxi
