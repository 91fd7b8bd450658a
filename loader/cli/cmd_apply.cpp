// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi apply [--config FILE] [--dry-run] [--prune]: converge the kernel to the file.
#include <iostream>

#include <tcpxi/apply.hpp>

#include "command.hpp"

namespace tcpxi::cli {

namespace {

struct ApplyArgs {
	std::string config = kDefaultConfigPath;
	bool dry_run = false;
	bool prune = false;
};

nlohmann::json params_json(const FormattedParams &params)
{
	nlohmann::json out = nlohmann::json::object();
	for (const auto &[key, value] : params)
		out[key] = value;
	return out;
}

nlohmann::json step_json(const PlanStep &step)
{
	nlohmann::json out{{"action", std::string(to_string(step.kind))}, {"plugin", step.plugin}};
	if (!step.algorithm.empty())
		out["algorithm"] = step.algorithm;
	if (!step.cgroup.empty()) {
		out["cgroup"] = step.cgroup;
		out["cgroup_id"] = step.cgroup_id;
	}
	if (step.kind == StepKind::set || step.kind == StepKind::detach)
		out["before"] = params_json(step.before);
	if (step.kind == StepKind::set || step.kind == StepKind::attach)
		out["params"] = params_json(step.after);
	if (step.kind == StepKind::replace || step.kind == StepKind::replace_cc)
		out["atomic"] = step.atomic;
	out["note"] = step.note;
	out["source"] = step.source;
	out["text"] = describe_step(step);
	return out;
}

} // namespace

void add_apply_command(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<ApplyArgs>();
	auto *cmd = app.add_subcommand("apply", "Make the kernel match the config file (plan, then all or nothing)");
	cmd->add_option("-c,--config", args->config, "Config file")->capture_default_str();
	cmd->add_flag("-n,--dry-run", args->dry_run, "Print the plan, change nothing");
	cmd->add_flag("--prune", args->prune, "Detach tcpxi attachments the file does not name");
	cmd->callback([&ctx, args] {
		Config config = load_config(args->config); // bad files fail before anything else
		ctx.require_root("apply");
		ApplyOptions options;
		options.dry_run = args->dry_run;
		options.prune = args->prune;
		ApplyResult result = apply_config(ctx.tcpxi(), config, options);
		const Plan &plan = result.plan;
		if (ctx.wants_json()) {
			nlohmann::json steps = nlohmann::json::array(), left = nlohmann::json::array();
			for (const auto &step : plan.steps)
				steps.push_back(step_json(step));
			for (const auto &att : plan.left_alone)
				left.push_back({{"cgroup", att.cgroup}, {"cgroup_id", att.cgroup_id}, {"plugin", att.plugin}});
			ctx.print_json({{"config", args->config},
					{"instance", ctx.instance},
					{"dry_run", args->dry_run},
					{"applied", result.applied},
					{"changes", plan.steps.size()},
					{"steps", steps},
					{"left_alone", left},
					{"notes", result.notes}});
			return;
		}
		for (const auto &step : plan.steps)
			std::cout << describe_step(step) << '\n';
		if (!plan.left_alone.empty()) {
			std::cout << "= left alone (not in the file; --prune detaches them):\n";
			for (const auto &att : plan.left_alone)
				std::cout << "    " << att.plugin << " on " << att.cgroup << " (cgroup id " << att.cgroup_id << ")\n";
		}
		for (const auto &note : result.notes)
			std::cout << note << '\n';
		if (plan.empty())
			std::cout << "No changes: the kernel matches " << args->config << ".\n";
		else if (args->dry_run)
			std::cout << "Dry run: " << plan.steps.size() << " change(s) planned, nothing applied.\n";
		else
			std::cout << "Applied " << plan.steps.size() << " change(s).\n";
	});
}

} // namespace tcpxi::cli
