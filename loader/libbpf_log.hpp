// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

namespace tcpxi {

// Routes libbpf's messages (and with them the verifier log) through one callback:
// silent by default, everything on stderr at verbosity >= 1.
void set_libbpf_verbosity(int verbosity);

} // namespace tcpxi
