// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Base of every test that needs the kernel: skips with the reason when it cannot run,
// and fails instead under CI=true, where a skipped kernel test hides a regression.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "kernel_env.hpp"

namespace tcpxi::test {

class KernelTest : public testing::Test {
protected:
	void SetUp() override
	{
		static const std::string blocker = kernel_test_blocker();
		if (blocker.empty())
			return;
		const char *ci = std::getenv("CI");
		if (ci && std::string(ci) == "true")
			FAIL() << "kernel test cannot run under CI=true: " << blocker;
		GTEST_SKIP() << blocker;
	}
};

// Gives the test process a network namespace of its own (loopback up), so tests never
// touch the host's interfaces. Registered by the kernel tests' main().
class PrivateNetnsEnvironment : public testing::Environment {
public:
	void SetUp() override;
};

} // namespace tcpxi::test
