// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <gtest/gtest.h>

#include "cli/output.hpp"

using namespace tcpxi;

TEST(Output, TableColumnsAlign)
{
	std::string table = cli::format_table({{"NAME", "KIND"}, {"tune", "sockops"}, {"cubic", "congestion-control"}});
	EXPECT_EQ(table, "NAME   KIND\ntune   sockops\ncubic  congestion-control\n");
}

TEST(Output, StatusJsonUsesSnakeCaseAndEmptyArrays)
{
	Status status;
	status.pin_dir = "/sys/fs/bpf/tcpxi";
	auto json = cli::to_json(status);
	EXPECT_EQ(json["attachments"], nlohmann::json::array());
	EXPECT_EQ(json["congestion_controls"], nlohmann::json::array());

	Attachment att;
	att.plugin = "tune";
	att.cgroup = "/demo";
	att.cgroup_id = 7;
	att.params = {{"init_cwnd", "20"}};
	att.counters = {{"conns_tuned", 3}};
	status.attachments.push_back(att);
	json = cli::to_json(status);
	EXPECT_EQ(json["attachments"][0]["cgroup_id"], 7);
	EXPECT_EQ(json["attachments"][0]["params"]["init_cwnd"], "20");
	EXPECT_EQ(json["attachments"][0]["counters"]["conns_tuned"], 3);
}
