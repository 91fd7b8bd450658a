// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <tcpxi/unique_fd.hpp>

namespace tcpxi {

bool sd_notify(const std::string &state)
{
	const char *address = getenv("NOTIFY_SOCKET");
	if (!address || (address[0] != '/' && address[0] != '@'))
		return false;
	sockaddr_un sun {};
	sun.sun_family = AF_UNIX;
	size_t len = strlen(address);
	if (len >= sizeof(sun.sun_path))
		return false;
	memcpy(sun.sun_path, address, len);
	if (address[0] == '@')
		sun.sun_path[0] = '\0'; // abstract: the name is the bytes after the NUL, not terminated
	socklen_t sun_len = offsetof(sockaddr_un, sun_path) + len + (address[0] == '@' ? 0 : 1);
	UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (!fd)
		return false;
	return sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr *>(&sun), sun_len) ==
	       static_cast<ssize_t>(state.size());
}

} // namespace tcpxi
