// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Tests that need a kernel feature skip, naming it, on a kernel without it: a missing
// feature is a fact of the kernel, not a failure of tcpxi. (No privileges is another
// matter: KernelTest fails on that under CI=true.) The answer comes from tcpxi's own
// probe (`tcpxi features`), never from the kernel version.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace tcpxi::test {

// "" when the running kernel has the feature; otherwise why the test cannot run:
// "needs struct_ops_link (kernel >= 6.4), which this kernel (6.1.0-...) lacks".
// Call it after KernelTest::SetUp (the probe needs root).
std::string missing_feature(const std::string &feature_id);

} // namespace tcpxi::test

// In a test body: skip the test unless the kernel has the feature.
#define TCPXI_REQUIRE_FEATURE(feature_id)                                                  \
	do {                                                                               \
		const std::string tcpxi_missing_ = ::tcpxi::test::missing_feature(feature_id); \
		if (!tcpxi_missing_.empty())                                               \
			GTEST_SKIP() << tcpxi_missing_;                                    \
	} while (0)
