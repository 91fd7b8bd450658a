// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The plan of `tcpxi apply`: what the config asks for, minus what the kernel has.
// Everything is read from the kernel now (status, pins, the cgroup tree); nothing is
// changed here.
#include <tcpxi/apply.hpp>

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>

#include "bpffs.hpp"
#include "build_id.hpp"
#include "cc_registry.hpp"
#include "program_store.hpp"
#include "storage.hpp"

namespace tcpxi {

namespace {

const std::string kSelector = "cc";

struct Desired {
	std::string cgroup;
	uint64_t cgroup_id = 0;
	std::string plugin; // sock_ops plugin
	ParamValues values;
	std::string source;
	bool from_pattern = false;
};

std::map<std::string, std::string> formatted(const std::string &plugin, const ParamValues &values)
{
	std::map<std::string, std::string> out;
	const Plugin *p = find_builtin_plugin(plugin);
	for (const auto &[key, value] : values)
		if (const ParamSpec *spec = p ? p->manifest.find_param(key) : nullptr)
			out[key] = format_value(*spec, value);
	return out;
}

FormattedParams as_list(const std::map<std::string, std::string> &params)
{
	return FormattedParams(params.begin(), params.end());
}

std::string algorithm_in(const FormattedParams &params)
{
	for (const auto &[key, value] : params)
		if (key == "algorithm")
			return value;
	return {};
}

class Planner {
public:
	Planner(const Tcpxi &tcpxi, const Config &config, bool prune)
		: tcpxi_(tcpxi), config_(config), prune_(prune), store_(tcpxi.pin_dir()), registry_(tcpxi.pin_dir())
	{
	}

	Plan plan()
	{
		expand();
		Status status = tcpxi_.status();
		Plan plan;
		plan_registrations(status, plan);
		std::set<std::string> fallback = plan_replacements(status, plan);
		plan_attachments(status, fallback, plan);
		plan_releases(status, plan);
		return plan;
	}

private:
	const Plugin *own_algorithm(const std::string &algorithm) const { return tcpxi::own_algorithm(tcpxi_, algorithm); }

	void check_algorithm(const std::string &algorithm, const SourceLocation &where) const
	{
		tcpxi::check_algorithm(tcpxi_, algorithm, where.str() + ": ");
	}

	// Patterns are matched against the cgroup tree as it is now; a literal path must
	// exist. A literal entry beats a pattern; two patterns for one cgroup are an error.
	void expand()
	{
		auto by_id = cgroup_paths_by_id();
		std::map<std::string, uint64_t> ids;
		for (const auto &[id, path] : by_id)
			ids[path] = id;
		std::map<uint64_t, const CgroupEntry *> owner;
		for (const auto &entry : config_.cgroups) {
			std::vector<std::pair<std::string, uint64_t>> matches;
			if (entry.pattern) {
				for (const auto &[path, id] : ids)
					if (!fnmatch(entry.path.c_str(), path.c_str(), FNM_PATHNAME))
						matches.emplace_back(path, id);
			} else if (auto it = ids.find(entry.path); it != ids.end()) {
				matches.emplace_back(*it);
			} else {
				throw Error(ErrorKind::usage, entry.where.str() + ": cgroup " + entry.path + " does not exist under " +
								      cgroup2_mount() +
								      "; create it, remove it from the file, or write a pattern (e.g. " +
								      entry.path + "*) that may match nothing");
			}
			for (const auto &[path, id] : matches) {
				auto [it, fresh] = owner.emplace(id, &entry);
				if (!fresh) {
					const CgroupEntry *other = it->second;
					if (other->pattern && entry.pattern)
						throw Error(ErrorKind::usage, entry.where.str() + ": cgroup " + path +
										      " matches both " + other->path + " (" +
										      other->where.str() + ") and " + entry.path +
										      "; make the patterns disjoint or name the cgroup itself");
					if (!other->pattern)
						continue; // the literal entry, seen first, wins
					it->second = &entry; // a literal entry after a pattern wins
				}
			}
		}
		for (const auto &[id, entry] : owner) {
			for (const auto &plugin_entry : entry->plugins) {
				const Plugin *plugin = find_builtin_plugin(plugin_entry.plugin);
				Desired d;
				d.cgroup = by_id[id];
				d.cgroup_id = id;
				d.source = plugin_entry.where.str();
				d.from_pattern = entry->pattern;
				if (plugin->manifest.kind == PluginKind::congestion_control) {
					d.plugin = kSelector;
					d.values = {{"algorithm", tcpxi_.algorithm_name(plugin->manifest.name)}};
				} else {
					d.plugin = plugin->manifest.name;
					d.values = plugin_entry.values;
				}
				if (d.plugin == kSelector) {
					const auto &algorithm = std::get<std::string>(d.values.at("algorithm"));
					check_algorithm(algorithm, plugin_entry.where);
					if (own_algorithm(algorithm))
						wanted_algorithms_[algorithm] = d.source;
				}
				desired_[{id, d.plugin}] = std::move(d);
			}
		}
		for (const auto &cc : config_.congestion_controls)
			wanted_algorithms_.emplace(tcpxi_.algorithm_name(cc.plugin), cc.where.str());
	}

	void plan_registrations(const Status &status, Plan &plan)
	{
		std::set<std::string> registered;
		for (const auto &reg : status.congestion_controls)
			registered.insert(reg.algorithm);
		for (const auto &[algorithm, source] : wanted_algorithms_) {
			const Plugin *plugin = own_algorithm(algorithm);
			PlanStep step;
			step.plugin = plugin->manifest.name;
			step.algorithm = algorithm;
			step.source = source;
			if (!registered.count(algorithm)) {
				step.kind = StepKind::register_cc;
				plan.steps.push_back(step);
			} else if (registry_.build(algorithm) != build_id(*plugin)) {
				step.kind = StepKind::replace_cc;
				step.atomic = registry_.has_link(algorithm);
				step.note = step.atomic
						    ? "registered by another tcpxi build; swapped in place (struct_ops link update)"
						    : "registered by another tcpxi build the legacy way (kernel < 6.4): unregistered "
						      "and registered again; connections opened in between keep the default algorithm";
				plan.steps.push_back(step);
			}
		}
	}

	// Plugins the file names that the kernel runs from another build, or whose links
	// do not all run the pinned program (a killed apply). Returns the ones that must
	// take the fallback (the parameter layout changed).
	std::set<std::string> plan_replacements(const Status &status, Plan &plan)
	{
		std::set<std::string> named, fallback;
		for (const auto &[key, d] : desired_)
			named.insert(d.plugin);
		for (const auto &name : named) {
			if (!store_.is_loaded(name))
				continue;
			const Plugin *plugin = find_builtin_plugin(name);
			LoadedProgram pinned = store_.open(name);
			bool stale_links = false;
			for (const auto &att : status.attachments)
				if (att.plugin == name && att.attached && att.prog_id != pinned.prog_id)
					stale_links = true;
			bool other_build = store_.build(name) != build_id(*plugin);
			if (!other_build && !stale_links)
				continue;
			PlanStep step;
			step.kind = StepKind::replace;
			step.plugin = name;
			step.atomic = !pinned.params || params_match(pinned.params_layout, plugin->manifest);
			if (!step.atomic) {
				fallback.insert(name);
				step.note = "loaded by another tcpxi build with other parameters: every cgroup is attached to the "
					    "new program, then detached from the old one (for that instant both run)";
			} else if (other_build) {
				step.note = "loaded by another tcpxi build (prog id " + std::to_string(pinned.prog_id) +
					    "); links switched in place (bpf_link_update), parameters and counters kept";
			} else {
				step.note = "some links run another program than the pinned one (an interrupted apply); "
					    "switched in place";
			}
			plan.steps.push_back(step);
		}
		return fallback;
	}

	void plan_attachments(const Status &status, const std::set<std::string> &fallback, Plan &plan)
	{
		std::set<std::pair<uint64_t, std::string>> present;
		std::vector<PlanStep> dead, changes, detaches;
		for (const auto &att : status.attachments) {
			auto key = std::make_pair(att.cgroup_id, att.plugin);
			auto it = desired_.find(key);
			PlanStep step;
			step.plugin = att.plugin;
			step.cgroup = att.cgroup.empty() ? "(removed)" : att.cgroup;
			step.cgroup_id = att.cgroup_id;
			step.before = att.params;
			step.algorithm = att.plugin == kSelector ? algorithm_in(att.params) : "";
			if (!att.attached) {
				step.kind = StepKind::detach;
				step.note = att.cgroup.empty() ? "the cgroup was removed" : "the link was detached by another tool";
				dead.push_back(step);
				continue; // re-attached below if the file names it
			}
			if (it == desired_.end()) {
				if (prune_) {
					step.kind = StepKind::detach;
					step.note = "not in the file (--prune)";
					detaches.push_back(step);
				} else {
					plan.left_alone.push_back(att);
					keep(att);
				}
				continue;
			}
			present.insert(key);
			const Desired &d = it->second;
			auto want = formatted(d.plugin, d.values);
			if (d.plugin == kSelector)
				remaining_algorithms_.insert(std::get<std::string>(d.values.at("algorithm")));
			// A plugin replaced by the fallback is re-attached without values: the
			// set below writes the file's.
			(void)fallback;
			std::map<std::string, std::string> have(att.params.begin(), att.params.end());
			if (have == want)
				continue;
			step.kind = StepKind::set;
			step.values = d.values;
			step.after = as_list(want);
			step.source = d.source;
			step.algorithm = d.plugin == kSelector ? std::get<std::string>(d.values.at("algorithm")) : "";
			changes.push_back(step);
		}
		for (const auto &[key, d] : desired_) {
			if (present.count(key))
				continue;
			PlanStep step;
			step.kind = StepKind::attach;
			step.plugin = d.plugin;
			step.cgroup = d.cgroup;
			step.cgroup_id = d.cgroup_id;
			step.values = d.values;
			step.after = as_list(formatted(d.plugin, d.values));
			step.source = d.source;
			if (d.plugin == kSelector) {
				step.algorithm = std::get<std::string>(d.values.at("algorithm"));
				remaining_algorithms_.insert(step.algorithm);
			}
			changes.push_back(step);
			attached_after_.insert(d.plugin);
		}
		// Dead links first: their pins are where the new links go.
		for (auto *steps : {&dead, &changes, &detaches})
			plan.steps.insert(plan.steps.end(), steps->begin(), steps->end());
		for (auto *steps : {&dead, &detaches})
			for (const auto &step : *steps)
				detached_.insert({step.cgroup_id, step.plugin});
		for (const auto &att : status.attachments)
			if (!detached_.count({att.cgroup_id, att.plugin}))
				attached_after_.insert(att.plugin);
	}

	void keep(const Attachment &att)
	{
		if (att.plugin != kSelector)
			return;
		std::string algorithm = algorithm_in(att.params);
		if (algorithm.empty())
			unknown_algorithm_kept_ = true; // cannot tell which it uses: unregister nothing
		remaining_algorithms_.insert(algorithm);
	}

	void plan_releases(const Status &status, Plan &plan)
	{
		if (!unknown_algorithm_kept_)
			for (const auto &reg : status.congestion_controls)
				if (!wanted_algorithms_.count(reg.algorithm) && !remaining_algorithms_.count(reg.algorithm)) {
					PlanStep step;
					step.kind = StepKind::unregister_cc;
					step.algorithm = reg.algorithm;
					step.plugin = reg.plugin;
					step.note = "no cgroup names it";
					plan.steps.push_back(step);
				}
		for (const auto &name : list_pin_dir(tcpxi_.pin_dir() + "/plugins"))
			if (!attached_after_.count(name)) {
				PlanStep step;
				step.kind = StepKind::unload;
				step.plugin = name;
				step.note = "no cgroup uses it";
				plan.steps.push_back(step);
			}
	}

	const Tcpxi &tcpxi_;
	const Config &config_;
	bool prune_;
	ProgramStore store_;
	CcRegistry registry_;
	std::map<std::pair<uint64_t, std::string>, Desired> desired_;
	std::map<std::string, std::string> wanted_algorithms_; // algorithm -> source
	std::set<std::string> remaining_algorithms_;
	std::set<std::pair<uint64_t, std::string>> detached_;
	std::set<std::string> attached_after_;
	bool unknown_algorithm_kept_ = false;
};

std::string params_text(const FormattedParams &params)
{
	std::string text;
	for (const auto &[key, value] : params)
		text += " " + key + "=" + value;
	return text;
}

} // namespace

std::string_view to_string(StepKind kind)
{
	switch (kind) {
	case StepKind::register_cc: return "register";
	case StepKind::replace_cc: return "replace_cc";
	case StepKind::replace: return "replace";
	case StepKind::attach: return "attach";
	case StepKind::set: return "set";
	case StepKind::detach: return "detach";
	case StepKind::unregister_cc: return "unregister";
	case StepKind::unload: return "unload";
	}
	return "?";
}

Plan make_plan(const Tcpxi &tcpxi, const Config &config, bool prune)
{
	return Planner(tcpxi, config, prune).plan();
}

std::string describe_step(const PlanStep &step)
{
	const std::string where = step.cgroup + " (cgroup id " + std::to_string(step.cgroup_id) + ")";
	std::string note = step.note.empty() ? "" : "  [" + step.note + "]";
	switch (step.kind) {
	case StepKind::register_cc:
		return "+ register congestion control " + step.algorithm + " (plugin " + step.plugin + ")" + note;
	case StepKind::replace_cc:
		return "~ replace congestion control " + step.algorithm + note;
	case StepKind::replace:
		return "~ replace plugin " + step.plugin + note;
	case StepKind::attach:
		return "+ attach " + step.plugin + " to " + where + ":" +
		       (step.after.empty() ? " (no parameters)" : params_text(step.after)) + note;
	case StepKind::set: {
		std::map<std::string, std::string> before(step.before.begin(), step.before.end());
		std::map<std::string, std::string> after(step.after.begin(), step.after.end());
		std::string text;
		for (const auto &[key, value] : after)
			if (!before.count(key))
				text += " " + key + "=" + value;
			else if (before[key] != value)
				text += " " + key + ": " + before[key] + " -> " + value;
		for (const auto &[key, value] : before)
			if (!after.count(key))
				text += " -" + key;
		return "~ set " + step.plugin + " on " + where + ":" + text + note;
	}
	case StepKind::detach:
		return "- detach " + step.plugin + " from " + where + note;
	case StepKind::unregister_cc:
		return "- unregister congestion control " + step.algorithm + note;
	case StepKind::unload:
		return "- unload plugin " + step.plugin + note;
	}
	return "?";
}

} // namespace tcpxi
