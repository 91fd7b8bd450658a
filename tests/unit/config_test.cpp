// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The config file: what it accepts, and one-line errors with file:line:column for
// everything it does not.
#include <gtest/gtest.h>

#include <regex>

#include <tcpxi/config.hpp>
#include <tcpxi/error.hpp>

namespace tcpxi {
namespace {

TEST(Config, ParsesCgroupsPatternsPluginsAndCongestionControls)
{
	Config config = parse_config(R"(
congestion_controls = ["reno"]

[cgroups."system.slice/nginx.service"]
tune = { init_cwnd = 32, nodelay = true }
cubic = {}

[cgroups."/system.slice/*.service/".tune]
init_cwnd = 20

[cgroups."batch"]
cc = { algorithm = "bbr" }
)",
				     "t.toml");
	ASSERT_EQ(config.congestion_controls.size(), 1u);
	EXPECT_EQ(config.congestion_controls[0].plugin, "reno");
	ASSERT_EQ(config.cgroups.size(), 3u);
	EXPECT_EQ(config.cgroups[0].path, "/system.slice/nginx.service");
	EXPECT_FALSE(config.cgroups[0].pattern);
	ASSERT_EQ(config.cgroups[0].plugins.size(), 2u);
	EXPECT_EQ(config.cgroups[0].plugins[0].plugin, "tune");
	EXPECT_EQ(std::get<uint64_t>(config.cgroups[0].plugins[0].values.at("init_cwnd")), 32u);
	EXPECT_EQ(std::get<uint64_t>(config.cgroups[0].plugins[0].values.at("nodelay")), 1u);
	EXPECT_EQ(config.cgroups[0].plugins[0].where.str(), "t.toml:5:1");
	EXPECT_EQ(config.cgroups[1].path, "/system.slice/*.service");
	EXPECT_TRUE(config.cgroups[1].pattern);
	EXPECT_EQ(std::get<std::string>(config.cgroups[2].plugins[0].values.at("algorithm")), "bbr");
}

TEST(Config, EmptyFileIsValid)
{
	Config config = parse_config("# nothing yet\n", "t.toml");
	EXPECT_TRUE(config.cgroups.empty());
}

struct BadCase {
	const char *name;
	const char *text;
	const char *location; // file:line:column
	const char *words;    // what the message must say
};

class ConfigError : public testing::TestWithParam<BadCase> {};

TEST_P(ConfigError, OneLineWithFileLineColumn)
{
	const BadCase &c = GetParam();
	try {
		parse_config(c.text, "bad.toml");
		FAIL() << "accepted: " << c.text;
	} catch (const Error &e) {
		std::string message = e.what();
		EXPECT_EQ(e.kind(), ErrorKind::usage);
		EXPECT_EQ(message.find('\n'), std::string::npos) << message;
		EXPECT_EQ(message.rfind(std::string(c.location) + ": ", 0), 0u) << message;
		EXPECT_NE(message.find(c.words), std::string::npos) << message;
	}
}

INSTANTIATE_TEST_SUITE_P(
	Malformed, ConfigError,
	testing::Values(
		BadCase{"syntax", "[cgroups.\"a\"]\ntune = { init_cwnd = }\n", "bad.toml:2:22", "TOML syntax"},
		BadCase{"unclosed_string", "[cgroups.\"a]\n", "bad.toml:1:13", "TOML syntax"},
		BadCase{"unknown_top_key", "\n\nplugins = 3\n", "bad.toml:3:1", "unknown key 'plugins'"},
		BadCase{"unknown_plugin", "[cgroups.\"a\"]\nturbo = {}\n", "bad.toml:2:1", "unknown plugin 'turbo'"},
		BadCase{"unknown_param", "[cgroups.\"a\"]\ntune = { init_cwd = 3 }\n", "bad.toml:2:10",
			"unknown parameter 'init_cwd'"},
		BadCase{"wrong_type_int", "[cgroups.\"a\"]\ntune = { init_cwnd = \"32\" }\n", "bad.toml:2:22",
			"must be an integer, not a string"},
		BadCase{"wrong_type_bool", "[cgroups.\"a\"]\ntune = { nodelay = 1 }\n", "bad.toml:2:20",
			"must be true or false"},
		BadCase{"out_of_range", "[cgroups.\"a\"]\ntune = { init_cwnd = 100000 }\n", "bad.toml:2:22",
			"out of range"},
		BadCase{"negative", "[cgroups.\"a\"]\ntune = { init_cwnd = -1 }\n", "bad.toml:2:22", "negative"},
		BadCase{"plugin_not_table", "[cgroups.\"a\"]\ntune = 5\n", "bad.toml:2:8", "must be a table"},
		BadCase{"cgroups_not_table", "cgroups = [1]\n", "bad.toml:1:11", "cgroups must be a table"},
		BadCase{"duplicate_key", "[cgroups.\"a\"]\ntune = {}\n[cgroups.\"a\"]\n", "bad.toml:3:1", "TOML syntax"},
		BadCase{"duplicate_cgroup", "[cgroups.\"a/b\"]\ntune = {}\n[cgroups.\"/a/b/\"]\ncc = { algorithm = \"reno\" }\n",
			"bad.toml:3:10", "configured twice (also at bad.toml:1:10)"},
		BadCase{"two_congestion_controls", "[cgroups.\"a\"]\ncubic = {}\ncc = { algorithm = \"reno\" }\n",
			"bad.toml:3:1", "two congestion controls"},
		BadCase{"cc_without_algorithm", "[cgroups.\"a\"]\ncc = {}\n", "bad.toml:2:1", "needs algorithm"},
		BadCase{"cc_list_not_cc", "congestion_controls = [\"tune\"]\n", "bad.toml:1:24",
			"not a tcpxi congestion-control plugin"},
		BadCase{"cc_list_twice", "congestion_controls = [\"reno\", \"reno\"]\n", "bad.toml:1:32", "listed twice"},
		BadCase{"dotdot", "[cgroups.\"a/../b\"]\n", "bad.toml:1:10", "contains '..'"},
		BadCase{"not_utf8", "# ok\n[cgroups.\"a\xff\"]\n", "bad.toml:2:12", "not valid UTF-8"},
		BadCase{"control_character", "[cgroups.\"a\"]\ntune = {\x03}\n", "bad.toml:2:9", "control character U+0003"},
		BadCase{"non_ascii_key", "[cgroups.\"a\"]\n# caf\xc3\xa9\nt\xc7\xbcne = {}\n", "bad.toml:3:2",
			"non-ASCII character outside a string"},
		BadCase{"bad_string", "[cgroups.\"a\"]\ncc = { algorithm = \"a b\" }\n", "bad.toml:2:20",
			"only letters"}),
	[](const auto &info) { return std::string(info.param.name); });

TEST(Config, MissingFileNamesTheFix)
{
	try {
		load_config("/nonexistent/tcpxi.toml");
		FAIL();
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("--config"), std::string::npos) << e.what();
	}
}

} // namespace
} // namespace tcpxi
