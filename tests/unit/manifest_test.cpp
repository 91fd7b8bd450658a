// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <gtest/gtest.h>

#include <tcpxi/error.hpp>
#include <tcpxi/manifest.hpp>

using namespace tcpxi;
using namespace std::string_literals;

TEST(Manifest, ParsesPluginParamsCountersAndRequirements)
{
	const std::string section = "plugin|demo|sockops|1.2.3|A demo plugin\0"s
				    "param|init_cwnd|u32|1|1024|segments|Initial window\0"s
				    "param|fast|bool|0|1||Go fast\0"s
				    "counter|hits|Times it fired\0"s
				    "requires|struct_ops_link\0"s
				    "future|ignored\0"s;
	Manifest m = parse_manifest(section, "test");
	EXPECT_EQ(m.name, "demo");
	EXPECT_EQ(m.kind, PluginKind::sockops);
	EXPECT_EQ(m.version, "1.2.3");
	EXPECT_EQ(m.description, "A demo plugin");
	ASSERT_EQ(m.params.size(), 2u);
	EXPECT_EQ(m.params[0].name, "init_cwnd");
	EXPECT_EQ(m.params[0].type, ParamType::u32);
	EXPECT_EQ(m.params[0].min, 1u);
	EXPECT_EQ(m.params[0].max, 1024u);
	EXPECT_EQ(m.params[0].unit, "segments");
	EXPECT_EQ(m.params[1].type, ParamType::boolean);
	ASSERT_EQ(m.counters.size(), 1u);
	EXPECT_EQ(m.counters[0].name, "hits");
	EXPECT_EQ(m.requires_features, std::vector<std::string>{"struct_ops_link"});
	EXPECT_NE(m.find_param("fast"), nullptr);
	EXPECT_EQ(m.find_param("slow"), nullptr);
}

TEST(Manifest, CongestionControlKind)
{
	Manifest m = parse_manifest("plugin|cubic|congestion-control|1.0.0|CUBIC"s, "test");
	EXPECT_EQ(m.kind, PluginKind::congestion_control);
	EXPECT_TRUE(m.params.empty());
}

TEST(Manifest, RejectsMalformedRecordsNamingThem)
{
	for (const std::string bad : {"param|x|u32|1|2|u|d\0"s,                    // no plugin record
				      "plugin|x|sockops|1.0\0"s,                      // missing field
				      "plugin|x|xdp|1.0|d\0"s,                        // unknown kind
				      "plugin|x|sockops|1|d\0param|p|float|0|1||d\0"s, // unknown type
				      "plugin|x|sockops|1|d\0param|p|u32|zero|1||d\0"s}) {
		try {
			parse_manifest(bad, "obj.bpf.o");
			ADD_FAILURE() << "accepted: " << bad;
		} catch (const Error &e) {
			EXPECT_EQ(e.kind(), ErrorKind::usage);
			EXPECT_NE(std::string(e.what()).find("obj.bpf.o"), std::string::npos) << e.what();
		}
	}
}
