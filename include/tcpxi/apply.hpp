// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi apply: turn a config into a plan (desired state minus the kernel's state)
// and execute it all or nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <tcpxi/config.hpp>
#include <tcpxi/tcpxi.hpp>

namespace tcpxi {

enum class StepKind {
	register_cc,   // register a tcpxi congestion control
	replace_cc,    // swap a registered congestion control for this build's
	replace,       // swap a loaded plugin for this build's, links updated in place
	attach,        // attach a plugin to a cgroup
	set,           // change parameters of an attachment, in place
	detach,        // detach (--prune, or a link that is dead or gone)
	unregister_cc, // unregister a congestion control nothing names any more
	unload,        // unpin a plugin no cgroup uses any more
};
std::string_view to_string(StepKind kind);

using FormattedParams = std::vector<std::pair<std::string, std::string>>;

struct PlanStep {
	StepKind kind = StepKind::attach;
	std::string plugin;    // the sock_ops plugin (tune, cc) or the congestion-control plugin
	std::string algorithm; // register_cc, replace_cc, unregister_cc, and cc attachments
	std::string cgroup;    // relative to the cgroup2 mount
	uint64_t cgroup_id = 0;
	ParamValues values;       // attach, set: the whole desired set
	FormattedParams before;   // set, detach: what the kernel has
	FormattedParams after;    // attach, set: what the file asks for
	std::string note;         // why, and how (atomic or the fallback)
	std::string source;       // file:line:column of the entry that asks for it
	bool atomic = true;       // replace: false when the documented fallback is used
};

struct Plan {
	std::vector<PlanStep> steps;
	// tcpxi attachments the file does not name, left alone without --prune.
	std::vector<Attachment> left_alone;
	bool empty() const { return steps.empty(); }
};

struct ApplyOptions {
	bool dry_run = false;
	bool prune = false;
	// Called before each step (1-based); tests use it to change the world mid-apply.
	std::function<void(size_t index, const PlanStep &step)> before_step;
};

struct ApplyResult {
	Plan plan;
	bool applied = false; // false for a dry run or an empty plan
	std::vector<std::string> notes; // what happened after the commit (releases)
};

// The plan, computed from the kernel's state now; changes nothing.
Plan make_plan(const Tcpxi &tcpxi, const Config &config, bool prune);

// Locks the instance, plans, and executes; on an error undoes every step done and
// throws an Error naming the step. Test hooks: TCPXI_TEST_FAIL_AT_STEP=N,
// TCPXI_TEST_KILL_AT_STEP=N, TCPXI_TEST_BAD_OBJECT=PLUGIN.
ApplyResult apply_config(const Tcpxi &tcpxi, const Config &config, const ApplyOptions &options);

// Detaches every attachment of the instance and unregisters its congestion controls
// (`tcpxi daemon --detach-on-exit`).
std::vector<std::string> remove_everything(const Tcpxi &tcpxi);

// One line per step, diff-style ("+ attach", "~ set", "- detach").
std::string describe_step(const PlanStep &step);

} // namespace tcpxi
