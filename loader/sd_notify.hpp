// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// systemd's notification protocol (sd_notify(3)), without libsystemd: one datagram
// of "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET.
#pragma once

#include <string>

namespace tcpxi {

// Sends `state` (e.g. "READY=1\nSTATUS=..."); false when $NOTIFY_SOCKET is unset
// (not started by systemd) or the send failed. '@' at the start of the address
// means the abstract namespace.
bool sd_notify(const std::string &state);

} // namespace tcpxi
