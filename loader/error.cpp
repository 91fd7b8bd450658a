// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <tcpxi/error.hpp>

#include <cerrno>
#include <cstring>

namespace tcpxi {

void throw_errno(int err, const std::string &what, const std::string &hint)
{
	if (err < 0)
		err = -err;
	ErrorKind kind = ErrorKind::kernel;
	std::string fix = hint;
	if (err == EPERM || err == EACCES) {
		kind = ErrorKind::permission;
		if (fix.empty())
			fix = "run as root (tcpxi needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)";
	}
	std::string message = what + ": " + std::strerror(err);
	if (!fix.empty())
		message += " (" + fix + ")";
	throw Error(kind, message);
}

} // namespace tcpxi
