// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Kernel features: the probe, the mechanism tcpxi picks from it, `tcpxi features`, and
// plugins refused for a feature the kernel lacks. Runs on every kernel of the matrix
// (scripts/kernel-matrix): what it expects follows the probe, not the version.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include <tcpxi/features.hpp>

#include "feature_guard.hpp"
#include "kernel_test.hpp"
#include "run_command.hpp"
#include "tcp_probe.hpp"

namespace tcpxi::test {
namespace {

std::string release()
{
	utsname uts {};
	uname(&uts);
	return uts.release;
}

KernelFeatures fake_kernel(std::initializer_list<std::string> available)
{
	KernelFeatures kf;
	kf.kernel_release = "6.1.0-test";
	kf.features = known_features();
	for (auto &f : kf.features)
		f.available = std::find(available.begin(), available.end(), f.id) != available.end();
	return kf;
}

// ---- the requirement check, against a made-up kernel (no privileges) ----------------

TEST(FeatureRequirements, MissingFeatureIsRefusedWithItsMinimumKernel)
{
	Manifest m;
	m.name = "future";
	m.requires_features = {"sock_ops", "struct_ops_link"};
	try {
		check_plugin_requirements(m, fake_kernel({"sock_ops"}));
		FAIL() << "not refused";
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), ErrorKind::unsupported);
		EXPECT_STREQ(e.what(), "plugin future needs struct_ops_link (kernel >= 6.4), which this kernel "
				       "(6.1.0-test) lacks");
	}
	EXPECT_NO_THROW(check_plugin_requirements(m, fake_kernel({"sock_ops", "struct_ops_link"})));
}

TEST(FeatureRequirements, UnknownFeatureIsRefused)
{
	Manifest m;
	m.name = "odd";
	m.requires_features = {"time_travel"};
	try {
		check_plugin_requirements(m, fake_kernel({}));
		FAIL() << "not refused";
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), ErrorKind::unsupported);
		EXPECT_NE(std::string(e.what()).find("'time_travel'"), std::string::npos) << e.what();
	}
}

TEST(FeatureRequirements, PluginsWithoutRequirementsNeedNoProbe)
{
	Manifest m;
	m.name = "plain";
	EXPECT_NO_THROW(check_plugin_requirements(m)); // no probe: works without root too
}

TEST(FeatureRequirements, IdsAreSnakeCaseAndHaveAMinimumKernel)
{
	for (const auto &f : known_features()) {
		EXPECT_FALSE(f.min_kernel.empty()) << f.id;
		EXPECT_EQ(f.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"), std::string::npos) << f.id;
	}
}

// ---- the probe on this kernel ---------------------------------------------------------

class FeaturesTest : public KernelTest {};

TEST_F(FeaturesTest, ProbeAnswersForEveryFeatureAndLeavesNothingBehind)
{
	KernelFeatures kf = probe_kernel_features();
	EXPECT_EQ(kf.kernel_release, release());
	ASSERT_EQ(kf.features.size(), known_features().size());
	// What every kernel tcpxi runs on has (the kernel tests could not run otherwise).
	for (const char *id : {"btf", "sock_ops", "cgroup_storage", "percpu_cgroup_storage", "cgroup_link"})
		EXPECT_TRUE(kf.has(id)) << id << ": " << kf.find(id)->note;
	for (const auto &f : kf.features)
		if (!f.available)
			EXPECT_FALSE(f.note.empty()) << f.id << " says no without saying why";
	struct stat st {};
	EXPECT_NE(stat((cgroup2_mount() + "/tcpxi-probe-" + std::to_string(getpid())).c_str(), &st), 0)
		<< "the probe's cgroup is left behind";
}

TEST_F(FeaturesTest, FeatureImplicationsHold)
{
	const KernelFeatures &kf = kernel_features();
	// A newer feature never comes without the older ones it builds on.
	if (kf.has("struct_ops_link"))
		EXPECT_TRUE(kf.has("struct_ops"));
	if (kf.has("tcp_cc_kfuncs"))
		EXPECT_TRUE(kf.has("struct_ops"));
	if (kf.has("hdr_opt_helpers")) {
		EXPECT_TRUE(kf.has("setsockopt_rto_min")) << "both came in 5.10";
		EXPECT_TRUE(kf.has("setsockopt_delack_max")) << "both came in 5.10";
	}
}

TEST_F(FeaturesTest, CongestionControlIsRegisteredTheWayTheProbeSays)
{
	TCPXI_REQUIRE_FEATURE("struct_ops");
	const bool link = kernel_features().has("struct_ops_link");
	ScopedCgroup cg;
	ScopedInstance inst;
	unsetenv("TCPXI_STRUCT_OPS");
	inst.tcpxi().attach(cg.relative(), "reno", {});
	Status status = inst.tcpxi().status();
	ASSERT_EQ(status.congestion_controls.size(), 1u);
	const auto &reg = status.congestion_controls[0];
	EXPECT_EQ(reg.mechanism, link ? "struct_ops link" : "legacy registration");
	EXPECT_EQ(reg.link_id != 0, link);
	auto conn = connect_once(Place{}, Place{cg.path()}, "127.0.0.1", false, 1 << 20);
	EXPECT_EQ(conn.client["cc"], inst.tcpxi().algorithm_name("reno")) << conn.client["error"];
	EXPECT_EQ(conn.server["received"], std::to_string(1 << 20));
}

TEST_F(FeaturesTest, StructOpsLinkRegistrationIsAPinnedLink)
{
	TCPXI_REQUIRE_FEATURE("struct_ops_link");
	ScopedCgroup cg;
	ScopedInstance inst;
	unsetenv("TCPXI_STRUCT_OPS");
	inst.tcpxi().attach(cg.relative(), "cubic", {});
	Status status = inst.tcpxi().status();
	ASSERT_EQ(status.congestion_controls.size(), 1u);
	EXPECT_EQ(status.congestion_controls[0].mechanism, "struct_ops link");
	EXPECT_NE(status.congestion_controls[0].link_id, 0u);
	struct stat st {};
	EXPECT_EQ(stat((status.pin_dir + "/cc/" + inst.tcpxi().algorithm_name("cubic") + "/link").c_str(), &st), 0);
}

TEST_F(FeaturesTest, PluginNeedingAMissingFeatureIsRefusedNamingIt)
{
	std::ifstream file(TCPXI_TEST_PLUGIN_NEEDS_LINK, std::ios::binary);
	ASSERT_TRUE(file) << TCPXI_TEST_PLUGIN_NEEDS_LINK;
	std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
	Plugin plugin = plugin_from_object(bytes, TCPXI_TEST_PLUGIN_NEEDS_LINK);
	ASSERT_EQ(plugin.manifest.requires_features, std::vector<std::string>{"struct_ops_link"});
	if (kernel_features().has("struct_ops_link")) {
		EXPECT_NO_THROW(check_plugin_requirements(plugin.manifest));
		return;
	}
	try {
		check_plugin_requirements(plugin.manifest);
		FAIL() << "a plugin that needs struct_ops_link was accepted on " << release();
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), ErrorKind::unsupported);
		EXPECT_EQ(std::string(e.what()), "plugin needslink needs struct_ops_link (kernel >= 6.4), which this kernel (" +
							 release() + ") lacks");
	}
}

// ---- the command ------------------------------------------------------------------------

TEST_F(FeaturesTest, CommandReportsFeaturesAndMechanismsInJson)
{
	auto r = run_tcpxi({"features", "--json"});
	ASSERT_EQ(r.exit_code, 0) << r.err;
	auto json = nlohmann::json::parse(r.out);
	EXPECT_EQ(json["kernel"], release());
	const KernelFeatures &kf = kernel_features();
	ASSERT_EQ(json["features"].size(), kf.features.size());
	for (size_t i = 0; i < kf.features.size(); i++) {
		EXPECT_EQ(json["features"][i]["id"], kf.features[i].id);
		EXPECT_EQ(json["features"][i]["available"], kf.features[i].available) << kf.features[i].id;
		EXPECT_EQ(json["features"][i]["min_kernel"], kf.features[i].min_kernel);
	}
	std::string how;
	for (const auto &m : json["mechanisms"])
		if (m["id"] == "congestion_control_registration")
			how = m["how"];
	EXPECT_EQ(how, kf.has("struct_ops_link") ? "struct_ops link" : "legacy registration");

	auto text = run_tcpxi({"features"});
	ASSERT_EQ(text.exit_code, 0) << text.err;
	EXPECT_NE(text.out.find("congestion controls"), std::string::npos) << text.out;
	EXPECT_NE(text.out.find("struct_ops_link"), std::string::npos) << text.out;
}

TEST_F(FeaturesTest, CommandSaysWhenTheLegacyPathIsForced)
{
	TCPXI_REQUIRE_FEATURE("struct_ops_link"); // without links, legacy is not forced but the only way
	setenv("TCPXI_STRUCT_OPS", "legacy", 1);
	auto r = run_tcpxi({"features", "--json"});
	unsetenv("TCPXI_STRUCT_OPS");
	ASSERT_EQ(r.exit_code, 0) << r.err;
	auto json = nlohmann::json::parse(r.out);
	EXPECT_EQ(json["mechanisms"][0]["how"], "legacy registration (forced by TCPXI_STRUCT_OPS=legacy)");
}

TEST(FeaturesCommandNoRoot, NeedsRoot)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "covered as root by setpriv below";
	auto r = run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", TCPXI_BINARY, "features"});
	EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
	EXPECT_NE(r.err.find("needs root"), std::string::npos) << r.err;
}

} // namespace
} // namespace tcpxi::test
