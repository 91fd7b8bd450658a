// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi features: what this kernel offers tcpxi, probed (like `bpftool feature probe`).
#include <iostream>

#include <tcpxi/features.hpp>

#include "command.hpp"
#include "output.hpp"

namespace tcpxi::cli {

namespace {

nlohmann::json features_json(const KernelFeatures &kf)
{
	nlohmann::json features = nlohmann::json::array();
	for (const auto &f : kf.features) {
		nlohmann::json item = {{"id", f.id},
				       {"available", f.available},
				       {"min_kernel", f.min_kernel},
				       {"description", f.description}};
		if (!f.note.empty())
			item["note"] = f.note;
		features.push_back(item);
	}
	nlohmann::json mechanisms = nlohmann::json::array();
	for (const auto &m : kf.mechanisms)
		mechanisms.push_back({{"id", m.id}, {"what", m.what}, {"how", m.how}});
	return {{"kernel", kf.kernel_release}, {"features", features}, {"mechanisms", mechanisms}};
}

std::string features_text(const KernelFeatures &kf)
{
	std::vector<std::vector<std::string>> rows = {{"FEATURE", "AVAILABLE", "SINCE", "DESCRIPTION"}};
	for (const auto &f : kf.features)
		rows.push_back({f.id, f.available ? "yes" : "no", f.min_kernel,
				f.description + (f.note.empty() ? "" : " [" + f.note + "]")});
	std::string out = "kernel " + kf.kernel_release + "\n\n" + format_table(rows) + "\n";
	std::vector<std::vector<std::string>> how = {{"MECHANISM", "TCPXI USES"}};
	for (const auto &m : kf.mechanisms)
		how.push_back({m.what, m.how});
	return out + format_table(how);
}

} // namespace

void add_features_command(CLI::App &app, Context &ctx)
{
	auto *cmd = app.add_subcommand("features", "Probe what this kernel offers tcpxi, and which mechanisms tcpxi uses");
	cmd->callback([&ctx] {
		ctx.require_root("features");
		const KernelFeatures kf = probe_kernel_features();
		if (ctx.wants_json())
			ctx.print_json(features_json(kf));
		else
			std::cout << features_text(kf);
	});
}

} // namespace tcpxi::cli
