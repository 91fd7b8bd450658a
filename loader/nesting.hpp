// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <string>

namespace tcpxi {

// Sets TCPXI_SET_NESTED on every attachment of `plugin` that has another attachment of
// it on an ancestor or a descendant cgroup, and clears it on the others. Only nested
// attachments need the per-socket record that lets the most specific one win; the
// rest skip its cost. Call after any change of where a plugin is attached.
void refresh_nesting(const std::string &pin_dir, const std::string &plugin);

} // namespace tcpxi
