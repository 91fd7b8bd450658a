// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

namespace tcpxi {

// The running kernel's CONFIG_HZ (jiffies per second), from its config file, or
// measured from /proc/timer_list when the config is not available; 0 if unknown.
unsigned kernel_hz();

} // namespace tcpxi
