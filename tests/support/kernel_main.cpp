// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "kernel_test.hpp"

namespace tcpxi::test {

void PrivateNetnsEnvironment::SetUp()
{
	if (geteuid() != 0)
		return; // the tests skip (or fail under CI) with the reason
	if (unshare(CLONE_NEWNET))
		FAIL() << "cannot create a network namespace for the tests";
	run("ip link set lo up");
}

} // namespace tcpxi::test

int main(int argc, char **argv)
{
	testing::InitGoogleTest(&argc, argv);
	testing::AddGlobalTestEnvironment(new tcpxi::test::PrivateNetnsEnvironment);
	return RUN_ALL_TESTS();
}
