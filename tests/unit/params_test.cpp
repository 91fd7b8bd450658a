// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include <gtest/gtest.h>

#include <tcpxi/error.hpp>
#include <tcpxi/params.hpp>

using namespace tcpxi;
using namespace std::string_literals;

namespace {

Manifest demo()
{
	return parse_manifest("plugin|demo|sockops|1|d\0"s
			      "param|cwnd|u32|1|1024|segments|w\0"s
			      "param|rate|u64|0|18446744073709551615|bytes/s|r\0"s
			      "param|nodelay|bool|0|1||n\0"s
			      "param|algorithm|str|1|15||a\0"s,
			      "demo");
}

std::string error_of(const std::vector<std::string> &assignments)
{
	try {
		parse_assignments(demo(), assignments);
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), ErrorKind::usage);
		return e.what();
	}
	return "";
}

} // namespace

TEST(Params, ParsesEveryType)
{
	auto values = parse_assignments(demo(), {"cwnd=20", "rate=18446744073709551615", "nodelay=on", "algorithm=bbr"});
	EXPECT_EQ(std::get<uint64_t>(values.at("cwnd")), 20u);
	EXPECT_EQ(std::get<uint64_t>(values.at("rate")), UINT64_MAX);
	EXPECT_EQ(std::get<uint64_t>(values.at("nodelay")), 1u);
	EXPECT_EQ(std::get<std::string>(values.at("algorithm")), "bbr");
	for (const char *off : {"off", "false", "no", "0"})
		EXPECT_EQ(std::get<uint64_t>(parse_assignments(demo(), {std::string("nodelay=") + off}).at("nodelay")), 0u);
}

TEST(Params, BoundsAreInclusive)
{
	EXPECT_EQ(std::get<uint64_t>(parse_assignments(demo(), {"cwnd=1"}).at("cwnd")), 1u);
	EXPECT_EQ(std::get<uint64_t>(parse_assignments(demo(), {"cwnd=1024"}).at("cwnd")), 1024u);
	EXPECT_NE(error_of({"cwnd=0"}).find("out of range"), std::string::npos);
	EXPECT_NE(error_of({"cwnd=1025"}).find("an integer from 1 to 1024 (segments)"), std::string::npos);
}

TEST(Params, ErrorsNameTheInputAndTheFix)
{
	EXPECT_NE(error_of({"cwnd=-1"}).find("bad value '-1' for demo parameter cwnd"), std::string::npos);
	EXPECT_NE(error_of({"cwnd=10x"}).find("not a non-negative integer"), std::string::npos);
	EXPECT_NE(error_of({"cwnd="}).find("not a non-negative integer"), std::string::npos);
	EXPECT_NE(error_of({"rate=18446744073709551616"}).find("not a non-negative integer"), std::string::npos);
	EXPECT_NE(error_of({"nodelay=2"}).find("expected on or off"), std::string::npos);
	EXPECT_NE(error_of({"algorithm=a b"}).find("only letters"), std::string::npos);
	EXPECT_NE(error_of({"algorithm=0123456789abcdef"}).find("wrong length"), std::string::npos);
	EXPECT_NE(error_of({"speed=1"}).find("unknown parameter 'speed' for plugin demo (it takes: cwnd, rate, nodelay, algorithm)"),
		  std::string::npos);
	EXPECT_NE(error_of({"=1"}).find("write KEY=VALUE"), std::string::npos);
}

TEST(Params, FormatsForPeople)
{
	Manifest m = demo();
	EXPECT_EQ(format_value(*m.find_param("nodelay"), uint64_t{1}), "on");
	EXPECT_EQ(format_value(*m.find_param("cwnd"), uint64_t{20}), "20");
	EXPECT_EQ(format_value(*m.find_param("algorithm"), std::string("bbr")), "bbr");
}
