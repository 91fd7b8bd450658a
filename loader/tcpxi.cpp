// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// attach, detach and set: every change validates all input first, then changes the
// kernel in an order whose every prefix can be undone, and undoes it on failure.
#include <tcpxi/tcpxi.hpp>

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <set>

#include <tcpxi/features.hpp>

#include "bpffs.hpp"
#include "cc_registry.hpp"
#include "libbpf_log.hpp"
#include "link_pins.hpp"
#include "nesting.hpp"
#include "rollback.hpp"
#include "program_store.hpp"

namespace tcpxi {

namespace {

const std::string kSelector = "cc"; // the sock_ops plugin that chooses congestion controls

const Plugin &require_plugin(const std::string &name)
{
	if (const Plugin *plugin = find_builtin_plugin(name))
		return *plugin;
	throw Error(ErrorKind::usage, "unknown plugin '" + name + "' (list them with `tcpxi plugin list`)");
}

std::string cgroup_label(const Cgroup &cg)
{
	return cg.relative + " (cgroup id " + std::to_string(cg.id) + ")";
}

uint32_t link_id_of(int fd)
{
	bpf_link_info info {};
	uint32_t len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

// A cgroup that may have been removed already: a detach by id still finds its pins.
uint64_t cgroup_id_for_cleanup(const std::string &spec, std::string &label)
{
	try {
		Cgroup cg = resolve_cgroup(spec);
		label = cgroup_label(cg);
		return cg.id;
	} catch (const Error &) {
		if (!spec.empty() && std::all_of(spec.begin(), spec.end(), ::isdigit)) {
			label = "cgroup id " + spec;
			return std::stoull(spec);
		}
		throw;
	}
}

class Engine {
public:
	explicit Engine(const Tcpxi &tcpxi)
		: tcpxi_(tcpxi), store_(tcpxi.pin_dir()), registry_(tcpxi.pin_dir()), links_(tcpxi.pin_dir())
	{
	}

	// The pinned program of a plugin, refused if another tcpxi build loaded it with
	// different parameters: its bits in `set` would mean other settings.
	LoadedProgram open_program(const Plugin &plugin) const
	{
		LoadedProgram loaded = store_.open(plugin.manifest.name);
		if (loaded.params && !params_match(loaded.params_layout, plugin.manifest))
			throw Error(ErrorKind::conflict,
				    "plugin " + plugin.manifest.name + " in the kernel (prog id " +
					    std::to_string(loaded.prog_id) +
					    ") was loaded by another tcpxi build with other parameters; detach it from "
					    "every cgroup (see `tcpxi status`) and attach it again");
		return loaded;
	}

	const Plugin *own_algorithm(const std::string &algorithm) const { return tcpxi::own_algorithm(tcpxi_, algorithm); }
	void check_algorithm(const std::string &algorithm) const { tcpxi::check_algorithm(tcpxi_, algorithm); }

	// Registers a tcpxi algorithm the selector is about to use, if not yet registered.
	void ensure_registered(const std::string &algorithm, Rollback &rollback, Report &report)
	{
		const Plugin *plugin = own_algorithm(algorithm);
		if (!plugin || registry_.is_registered(algorithm))
			return;
		registry_.register_algorithm(*plugin, algorithm);
		rollback.add([this, algorithm] { registry_.unregister_algorithm(algorithm); });
		report.lines.push_back("registered congestion control " + algorithm);
	}

	// The algorithm a cgroup's selector names; "" when it cannot be known (the cgroup
	// is gone and its storage with it, or another build loaded the selector).
	std::string algorithm_of(uint64_t cgroup_id) const
	{
		try {
			if (!store_.is_loaded(kSelector))
				return {};
			LoadedProgram selector = open_program(require_plugin(kSelector));
			auto values = read_params(selector.params.get(), selector.params_layout,
						  require_plugin(kSelector).manifest, cgroup_id);
			auto it = values.find("algorithm");
			return it == values.end() ? std::string() : std::get<std::string>(it->second);
		} catch (const Error &) {
			return {};
		}
	}

	// After a detach or a change: unload what no cgroup uses any more, and unregister
	// every tcpxi congestion control that no live selector names. Counting from the
	// kernel's state, not from what this command changed, also collects a registration
	// whose last cgroup was removed before it was detached.
	void release_unused(const std::string &sockops_plugin, Report &report)
	{
		if (links_.of_plugin(sockops_plugin).empty() && store_.is_loaded(sockops_plugin)) {
			store_.unload(sockops_plugin);
			report.lines.push_back("unloaded plugin " + sockops_plugin + " (no cgroup uses it)");
		}
		std::set<std::string> in_use;
		for (const auto &pin : links_.of_plugin(kSelector)) {
			std::string algorithm = algorithm_of(pin.cgroup_id);
			// A selector still attached whose choice cannot be read (another build
			// loaded it) might name any of them: keep them all.
			if (algorithm.empty() && links_.is_attached(pin))
				return;
			in_use.insert(algorithm);
		}
		for (const auto &reg : registry_.list())
			if (!in_use.count(reg.algorithm))
				report.lines.push_back(registry_.unregister_algorithm(reg.algorithm));
	}

	const Tcpxi &tcpxi_;
	ProgramStore store_;
	CcRegistry registry_;
	LinkPins links_;
};

} // namespace

Tcpxi::Tcpxi(Options options) : options_(std::move(options))
{
	set_libbpf_verbosity(options_.verbosity);
	if (options_.instance.empty() || options_.instance.size() > 9 ||
	    !std::all_of(options_.instance.begin(), options_.instance.end(),
			 [](char c) { return islower(static_cast<unsigned char>(c)) || isdigit(static_cast<unsigned char>(c)); }))
		throw Error(ErrorKind::usage, "bad instance name '" + options_.instance +
						      "': use 1 to 9 lower-case letters or digits");
}

std::string Tcpxi::pin_dir() const
{
	return bpffs_mount() + "/" + options_.instance;
}

std::string Tcpxi::algorithm_name(const std::string &plugin) const
{
	return options_.instance + "_" + plugin;
}

Report Tcpxi::attach(const std::string &cgroup, const std::string &plugin_name,
		     const std::vector<std::string> &assignments)
{
	const Plugin &plugin = require_plugin(plugin_name);
	ParamValues values = parse_assignments(plugin.manifest, assignments);
	check_plugin_requirements(plugin.manifest); // a missing kernel feature is named, not hit
	Engine engine(*this);

	// A congestion-control plugin is attached as the selector naming its algorithm.
	const Plugin *sockops = &plugin;
	if (plugin.manifest.kind == PluginKind::congestion_control) {
		sockops = &require_plugin(kSelector);
		values = {{"algorithm", algorithm_name(plugin_name)}};
	}
	const std::string &sockops_name = sockops->manifest.name;
	std::string algorithm;
	if (sockops_name == kSelector) {
		auto it = values.find("algorithm");
		if (it == values.end())
			throw Error(ErrorKind::usage, "plugin cc needs --set algorithm=NAME (e.g. cubic, bbr, " +
							      algorithm_name("cubic") + ")");
		algorithm = std::get<std::string>(it->second);
		engine.check_algorithm(algorithm);
	}

	Cgroup cg = resolve_cgroup(cgroup);
	InstanceLock lock(pin_dir(), options_.lock_wait_seconds);
	if (pin_exists(engine.links_.path(cg.id, sockops_name))) {
		if (sockops_name == kSelector)
			throw Error(ErrorKind::conflict, cgroup_label(cg) + " already has a congestion control (" +
								 engine.algorithm_of(cg.id) + "); change it with `tcpxi set " +
								 cgroup + " cc algorithm=NAME` or detach it first");
		throw Error(ErrorKind::conflict, "plugin " + sockops_name + " is already attached to " + cgroup_label(cg) +
							 "; change its parameters with `tcpxi set`");
	}

	Report report;
	Rollback rollback;
	bool fresh = !engine.store_.is_loaded(sockops_name);
	LoadedProgram prog = fresh ? engine.store_.load(*sockops) : engine.open_program(*sockops);
	if (fresh) {
		rollback.add([&engine, sockops_name] { engine.store_.unload(sockops_name); });
		report.lines.push_back("loaded plugin " + sockops_name + " (prog id " + std::to_string(prog.prog_id) + ")");
	}
	if (!algorithm.empty())
		engine.ensure_registered(algorithm, rollback, report);

	// A link detaches by itself when its last fd closes: until it is pinned, an error
	// (or a kill) leaves the cgroup as it was.
	UniqueFd link(bpf_link_create(prog.prog.get(), cg.fd.get(), BPF_CGROUP_SOCK_OPS, nullptr));
	if (!link) {
		int err = errno;
		// As root, EPERM means another tool attached a program that allows no others.
		if (err == EPERM && geteuid() == 0)
			throw Error(ErrorKind::conflict, "cannot attach " + sockops_name + " to " + cgroup_label(cg) +
								 ": a program attached without BPF_F_ALLOW_MULTI to it or an ancestor blocks it (see `bpftool cgroup tree " +
								 cg.path + "`)");
		throw_errno(err, "cannot attach " + sockops_name + " to " + cgroup_label(cg));
	}
	// Storage exists only once attached; until it is written it is zero, which the
	// SDK defines as "no parameter set": new connections in that instant get defaults.
	if (prog.params)
		write_params(prog.params.get(), prog.params_layout, sockops->manifest, cg.id, values);
	engine.links_.pin(link.get(), cg.id, sockops_name);
	rollback.commit();
	refresh_nesting(pin_dir(), sockops_name);

	std::string what = plugin_name == sockops_name ? plugin_name : plugin_name + " (cc algorithm=" + algorithm + ")";
	report.lines.push_back("attached " + what + " to " + cgroup_label(cg) + ", link id " +
			       std::to_string(link_id_of(link.get())));
	return report;
}

Report Tcpxi::detach(const std::string &cgroup, const std::string &plugin_name)
{
	Engine engine(*this);
	const Plugin *plugin = find_builtin_plugin(plugin_name);
	bool is_cc = plugin && plugin->manifest.kind == PluginKind::congestion_control;
	const std::string sockops_name = is_cc ? kSelector : plugin_name;

	std::string label;
	uint64_t cgroup_id = cgroup_id_for_cleanup(cgroup, label);
	InstanceLock lock(pin_dir(), options_.lock_wait_seconds);
	const std::string path = engine.links_.path(cgroup_id, sockops_name);
	if (!pin_exists(path)) {
		if (!plugin)
			throw Error(ErrorKind::usage, "unknown plugin '" + plugin_name + "' (list them with `tcpxi plugin list`)");
		throw Error(ErrorKind::conflict, "plugin " + plugin_name + " is not attached to " + label +
							 " (see `tcpxi status`)");
	}
	std::string algorithm = sockops_name == kSelector ? engine.algorithm_of(cgroup_id) : "";
	if (is_cc && !algorithm.empty() && algorithm != algorithm_name(plugin_name))
		throw Error(ErrorKind::conflict, label + " uses congestion control " + algorithm + ", not " +
							 algorithm_name(plugin_name) + " (detach it with `tcpxi detach " +
							 cgroup + " cc`)");
	Report report;
	engine.links_.detach({cgroup_id, sockops_name, path});
	report.lines.push_back("detached " + plugin_name + " from " + label);
	engine.release_unused(sockops_name, report);
	refresh_nesting(pin_dir(), sockops_name);
	return report;
}

Report Tcpxi::detach_all(const std::string &cgroup)
{
	Engine engine(*this);
	std::string label;
	uint64_t cgroup_id = cgroup_id_for_cleanup(cgroup, label);
	InstanceLock lock(pin_dir(), options_.lock_wait_seconds);
	Report report;
	for (const auto &pin : engine.links_.of_cgroup(cgroup_id)) {
		engine.links_.detach(pin);
		report.lines.push_back("detached " + pin.plugin + " from " + label);
		engine.release_unused(pin.plugin, report);
		refresh_nesting(pin_dir(), pin.plugin);
	}
	if (report.lines.empty())
		report.lines.push_back("nothing attached to " + label);
	return report;
}

Report Tcpxi::set(const std::string &cgroup, const std::string &plugin_name,
		  const std::vector<std::string> &assignments, const std::vector<std::string> &unset)
{
	const Plugin &plugin = require_plugin(plugin_name);
	if (plugin.manifest.kind == PluginKind::congestion_control)
		throw Error(ErrorKind::usage, "congestion control " + plugin_name +
						      " takes no parameters; to switch a cgroup's algorithm: tcpxi set " +
						      cgroup + " cc algorithm=NAME");
	if (assignments.empty() && unset.empty())
		throw Error(ErrorKind::usage, "nothing to set: give KEY=VALUE or --unset KEY");
	ParamValues changes = parse_assignments(plugin.manifest, assignments);
	for (const auto &key : unset)
		if (!plugin.manifest.find_param(key))
			throw Error(ErrorKind::usage, "unknown parameter '" + key + "' for plugin " + plugin_name);
	Engine engine(*this);
	if (auto it = changes.find("algorithm"); plugin_name == kSelector && it != changes.end())
		engine.check_algorithm(std::get<std::string>(it->second));
	if (plugin_name == kSelector && std::find(unset.begin(), unset.end(), "algorithm") != unset.end())
		throw Error(ErrorKind::usage, "cc needs its algorithm; detach it instead of unsetting it");

	Cgroup cg = resolve_cgroup(cgroup);
	InstanceLock lock(pin_dir(), options_.lock_wait_seconds);
	if (!pin_exists(engine.links_.path(cg.id, plugin_name)))
		throw Error(ErrorKind::conflict, "plugin " + plugin_name + " is not attached to " + cgroup_label(cg) +
							 " (attach it with `tcpxi attach " + cgroup + " " + plugin_name + "`)");
	LoadedProgram prog = engine.open_program(plugin);
	ParamValues values = read_params(prog.params.get(), prog.params_layout, plugin.manifest, cg.id);
	std::string old_algorithm = plugin_name == kSelector ? engine.algorithm_of(cg.id) : "";
	for (const auto &key : unset)
		values.erase(key);
	for (const auto &[key, value] : changes)
		values[key] = value;

	Report report;
	Rollback rollback;
	std::string new_algorithm;
	if (plugin_name == kSelector) {
		new_algorithm = std::get<std::string>(values.at("algorithm"));
		engine.ensure_registered(new_algorithm, rollback, report);
	}
	write_params(prog.params.get(), prog.params_layout, plugin.manifest, cg.id, values);
	rollback.commit();

	std::string text;
	for (const auto &[key, value] : changes)
		text += " " + key + "=" + format_value(*plugin.manifest.find_param(key), value);
	for (const auto &key : unset)
		text += " -" + key;
	report.lines.push_back("set" + text + " for " + plugin_name + " on " + cgroup_label(cg) +
			       " (new connections get it now)");
	if (old_algorithm != new_algorithm)
		engine.release_unused(kSelector, report);
	return report;
}

} // namespace tcpxi
