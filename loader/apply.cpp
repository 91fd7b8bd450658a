// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Executes the plan of `tcpxi apply` all or nothing. Every step registers its undo;
// the commit point comes after the last reversible step. Detaches only unpin and
// keep the link open until the commit, so that an error undoes them by pinning
// again, and a kill (the fd closes) completes them.
#include <tcpxi/apply.hpp>

#include <bpf/bpf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include "nesting.hpp"
#include "rollback.hpp"
#include "bpffs.hpp"
#include "build_id.hpp"
#include "cc_registry.hpp"
#include "elf_section.hpp"
#include "link_pins.hpp"
#include "program_store.hpp"
#include "storage.hpp"

namespace tcpxi {

namespace {

size_t env_step(const char *name)
{
	const char *value = getenv(name);
	return value ? strtoul(value, nullptr, 10) : 0;
}

// TCPXI_TEST_BAD_OBJECT=PLUGIN: the plugin's program gets an invalid first
// instruction, so that loading it fails the way a verifier rejection does.
Plugin plugin_to_load(const std::string &name)
{
	const Plugin *builtin = find_builtin_plugin(name);
	if (!builtin)
		throw Error(ErrorKind::usage, "unknown plugin '" + name + "'");
	Plugin plugin = *builtin;
	const char *bad = getenv("TCPXI_TEST_BAD_OBJECT");
	if (bad && name == bad) {
		if (auto section = find_elf_section(plugin.object, "sockops", plugin.origin); section && section->size >= 8)
			std::fill_n(plugin.object.begin() + section->offset, 8, 0xff);
		plugin.origin = "corrupted by TCPXI_TEST_BAD_OBJECT";
	}
	return plugin;
}

uint32_t linked_prog_id(int link_fd, uint64_t *cgroup_id = nullptr)
{
	bpf_link_info info {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return 0;
	if (cgroup_id)
		*cgroup_id = info.type == BPF_LINK_TYPE_CGROUP ? info.cgroup.cgroup_id : 0;
	return info.prog_id;
}

void remove_tree(const std::string &path)
{
	std::error_code ec;
	std::vector<std::filesystem::path> entries;
	for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
	     !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
		entries.push_back(it->path());
	for (auto it = entries.rbegin(); it != entries.rend(); ++it)
		::remove(it->c_str());
	::remove(path.c_str());
}

std::string short_name(const PlanStep &step)
{
	std::string text = std::string(to_string(step.kind)) + " " + (step.plugin.empty() ? step.algorithm : step.plugin);
	if (!step.cgroup.empty())
		text += (step.kind == StepKind::attach ? " to " : " on ") + step.cgroup;
	return text;
}

class Executor {
public:
	explicit Executor(const Tcpxi &tcpxi)
		: tcpxi_(tcpxi), store_(tcpxi.pin_dir()), registry_(tcpxi.pin_dir()), links_(tcpxi.pin_dir()),
		  mount_(cgroup2_mount())
	{
	}

	void run(const Plan &plan, const ApplyOptions &options, std::vector<std::string> &notes)
	{
		// Leftovers of a killed tcpxi; staging never holds anything valid between runs.
		remove_tree(tcpxi_.pin_dir() + "/staging");
		const size_t total = plan.steps.size();
		const size_t fail_at = env_step("TCPXI_TEST_FAIL_AT_STEP");
		const size_t kill_at = env_step("TCPXI_TEST_KILL_AT_STEP");
		for (size_t i = 0; i < total; i++) {
			const PlanStep &step = plan.steps[i];
			bool irreversible = step.kind == StepKind::unregister_cc || step.kind == StepKind::unload;
			if (irreversible && !committed_)
				commit();
			if (options.before_step)
				options.before_step(i + 1, step);
			if (kill_at == i + 1)
				raise(SIGKILL);
			try {
				if (fail_at == i + 1)
					throw Error(ErrorKind::kernel, "failure injected by TCPXI_TEST_FAIL_AT_STEP");
				execute(step, notes);
			} catch (const Error &e) {
				throw Error(e.kind(), "step " + std::to_string(i + 1) + " of " + std::to_string(total) + " (" +
							      short_name(step) + ") failed: " + e.what() +
							      (committed_ ? "; the steps before it are applied, run apply again"
									  : "; every earlier step was undone, nothing changed"));
			}
		}
		if (kill_at == total + 1)
			raise(SIGKILL);
		if (!committed_)
			commit();
		// Where plugins are attached may have changed: mark the nested attachments.
		for (const auto &plugin : list_pin_dir(tcpxi_.pin_dir() + "/plugins"))
			refresh_nesting(tcpxi_.pin_dir(), plugin);
	}

private:
	LoadedProgram &program(const std::string &plugin)
	{
		auto it = programs_.find(plugin);
		if (it == programs_.end())
			it = programs_.emplace(plugin, store_.open(plugin)).first;
		return it->second;
	}

	// The cgroup as planned, still there: a removed (or replaced) directory fails
	// the step instead of attaching to a dying cgroup.
	UniqueFd open_cgroup(const PlanStep &step) const
	{
		const std::string path = step.cgroup == "/" ? mount_ : mount_ + step.cgroup;
		UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
		struct stat st {};
		if (!fd || fstat(fd.get(), &st) || st.st_ino != step.cgroup_id)
			throw Error(ErrorKind::conflict, "cgroup " + step.cgroup + " (id " + std::to_string(step.cgroup_id) +
								 ") was removed during apply; run apply again");
		return fd;
	}

	void execute(const PlanStep &step, std::vector<std::string> &notes)
	{
		switch (step.kind) {
		case StepKind::register_cc: {
			registry_.register_algorithm(*find_builtin_plugin(step.plugin), step.algorithm);
			undo_.add([this, algorithm = step.algorithm] { registry_.unregister_algorithm(algorithm); });
			break;
		}
		case StepKind::replace_cc:
			replace_cc(step);
			break;
		case StepKind::replace:
			if (step.atomic)
				replace_in_place(step.plugin);
			else
				replace_by_reattach(step.plugin);
			break;
		case StepKind::attach:
			attach(step);
			break;
		case StepKind::set: {
			const Manifest &manifest = find_builtin_plugin(step.plugin)->manifest;
			LoadedProgram &prog = program(step.plugin);
			open_cgroup(step);
			ParamValues old;
			try {
				old = read_params(prog.params.get(), prog.params_layout, manifest, step.cgroup_id);
			} catch (const Error &) {
				// Written by a build with another layout (the fallback replace): zero.
			}
			write_params(prog.params.get(), prog.params_layout, manifest, step.cgroup_id, step.values);
			undo_.add([this, plugin = step.plugin, &manifest, id = step.cgroup_id, old] {
				LoadedProgram &now = program(plugin);
				write_params(now.params.get(), now.params_layout, manifest, id, old);
			});
			break;
		}
		case StepKind::detach:
			hold_for_detach(links_.path(step.cgroup_id, step.plugin), step.cgroup_id);
			break;
		case StepKind::unregister_cc:
			notes.push_back(registry_.unregister_algorithm(step.algorithm));
			break;
		case StepKind::unload:
			if (links_.of_plugin(step.plugin).empty()) {
				store_.unload(step.plugin);
				notes.push_back("unloaded plugin " + step.plugin + " (no cgroup uses it)");
			}
			break;
		}
	}

	void attach(const PlanStep &step)
	{
		UniqueFd cgroup = open_cgroup(step);
		if (!store_.is_loaded(step.plugin)) {
			store_.load(plugin_to_load(step.plugin));
			undo_.add([this, plugin = step.plugin] {
				programs_.erase(plugin);
				store_.unload(plugin);
			});
		}
		LoadedProgram &prog = program(step.plugin);
		// Unpinned, the link lives only as long as this fd: a kill detaches it.
		UniqueFd link(bpf_link_create(prog.prog.get(), cgroup.get(), BPF_CGROUP_SOCK_OPS, nullptr));
		if (!link)
			throw_errno(errno, "cannot attach " + step.plugin + " to " + step.cgroup);
		if (prog.params)
			write_params(prog.params.get(), prog.params_layout, find_builtin_plugin(step.plugin)->manifest,
				     step.cgroup_id, step.values);
		links_.pin(link.get(), step.cgroup_id, step.plugin);
		undo_.add([this, pin = LinkPin{step.cgroup_id, step.plugin, links_.path(step.cgroup_id, step.plugin)}] {
			links_.detach(pin);
		});
	}

	void hold_for_detach(const std::string &path, uint64_t cgroup_id)
	{
		auto link = std::make_shared<UniqueFd>(bpf_obj_get(path.c_str()));
		if (!*link)
			throw_errno(errno, "cannot open " + path);
		remove_pin(path);
		undo_.add([this, link, path, cgroup_id] {
			make_pin_dirs(links_dir(cgroup_id));
			if (bpf_obj_pin(link->get(), path.c_str()))
				throw_errno(errno, "cannot pin " + path + " again");
		});
		held_.push_back({link, cgroup_id});
	}

	std::string links_dir(uint64_t cgroup_id) const
	{
		return tcpxi_.pin_dir() + "/links/" + std::to_string(cgroup_id);
	}

	// New build, same parameter layout: load it on the pinned maps, switch every link
	// with one bpf_link_update each (BPF_F_REPLACE: only from the program it runs).
	void replace_in_place(const std::string &name)
	{
		Plugin plugin = plugin_to_load(name);
		LoadedProgram &pinned = program(name);
		auto replacement = std::make_shared<ProgramStore::Replacement>(store_.load_replacement(plugin, pinned));
		for (const auto &pin : links_.of_plugin(name)) {
			auto link = std::make_shared<UniqueFd>(bpf_obj_get(pin.path.c_str()));
			uint64_t cgroup_id = 0;
			uint32_t running = *link ? linked_prog_id(link->get(), &cgroup_id) : 0;
			if (!running || !cgroup_id || running == replacement->prog_id)
				continue; // detached or gone (the plan forgets it), or switched already
			auto old = std::make_shared<UniqueFd>(bpf_prog_get_fd_by_id(running));
			LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = BPF_F_REPLACE, .old_prog_fd = static_cast<__u32>(old->get()));
			if (!*old || bpf_link_update(link->get(), replacement->prog.get(), &opts))
				throw_errno(errno, "cannot switch the link of " + name + " on cgroup id " + std::to_string(cgroup_id));
			undo_.add([link, old, replacement] {
				LIBBPF_OPTS(bpf_link_update_opts, back, .flags = BPF_F_REPLACE,
					    .old_prog_fd = static_cast<__u32>(replacement->prog.get()));
				bpf_link_update(link->get(), old->get(), &back);
			});
		}
		auto old_prog = std::make_shared<UniqueFd>(fcntl(pinned.prog.get(), F_DUPFD_CLOEXEC, 0));
		auto old_build = std::make_shared<UniqueFd>(bpf_obj_get((store_.plugin_dir(name) + "/build").c_str()));
		store_.repin(name, replacement->prog.get(), replacement->build.get());
		programs_.erase(name);
		undo_.add([this, name, old_prog, old_build] {
			programs_.erase(name);
			store_.repin(name, old_prog->get(), old_build->get());
			if (!*old_build)
				remove_pin(store_.plugin_dir(name) + "/build");
		});
	}

	// Another parameter layout: the pinned maps cannot serve the new program. Attach
	// the new program beside the old one in every cgroup, drop the old ones at the
	// commit. Parameters come from the set steps that follow.
	void replace_by_reattach(const std::string &name)
	{
		auto pins = links_.of_plugin(name);
		for (const auto &pin : pins)
			hold_for_detach(pin.path, pin.cgroup_id);
		const std::string aside = tcpxi_.pin_dir() + "/staging/old-" + name;
		make_pin_dirs(tcpxi_.pin_dir() + "/staging");
		if (rename(store_.plugin_dir(name).c_str(), aside.c_str()))
			throw_errno(errno, "cannot move " + store_.plugin_dir(name) + " aside");
		programs_.erase(name);
		undo_.add([this, name, aside] {
			programs_.erase(name);
			store_.unload(name);
			if (rename(aside.c_str(), store_.plugin_dir(name).c_str()))
				throw_errno(errno, "cannot restore " + store_.plugin_dir(name));
		});
		commit_removals_.push_back(aside);
		store_.load(plugin_to_load(name));
		auto paths = cgroup_paths_by_id();
		for (const auto &pin : pins) {
			auto it = paths.find(pin.cgroup_id);
			if (it == paths.end())
				continue; // the cgroup is gone: nothing to re-attach
			PlanStep step;
			step.plugin = name;
			step.cgroup = it->second;
			step.cgroup_id = pin.cgroup_id;
			attach(step);
		}
	}

	void replace_cc(const PlanStep &step)
	{
		const Plugin &plugin = *find_builtin_plugin(step.plugin);
		if (step.atomic) {
			auto old = std::make_shared<CcRegistry::Swapped>(registry_.swap(plugin, step.algorithm));
			undo_.add([this, old, algorithm = step.algorithm] { registry_.swap_back(algorithm, *old); });
			return;
		}
		// Legacy registration (kernel < 6.4): two ops of one name cannot coexist.
		registry_.unregister_algorithm(step.algorithm);
		registry_.register_algorithm(plugin, step.algorithm);
	}

	void commit()
	{
		for (auto &[link, cgroup_id] : held_) {
			// Explicit, so that no other holder of the link keeps it attached.
			bpf_link_detach(link->get());
			link->reset();
			remove_pin(links_dir(cgroup_id)); // only if now empty
		}
		for (const auto &dir : commit_removals_)
			remove_tree(dir);
		undo_.commit();
		committed_ = true;
	}

	const Tcpxi &tcpxi_;
	ProgramStore store_;
	CcRegistry registry_;
	LinkPins links_;
	std::string mount_;
	std::map<std::string, LoadedProgram> programs_;
	std::vector<std::pair<std::shared_ptr<UniqueFd>, uint64_t>> held_;
	std::vector<std::string> commit_removals_;
	bool committed_ = false;
	Rollback undo_; // last: undone before the members it uses go
};

} // namespace

ApplyResult apply_config(const Tcpxi &tcpxi, const Config &config, const ApplyOptions &options)
{
	ApplyResult result;
	if (options.dry_run) {
		result.plan = make_plan(tcpxi, config, options.prune);
		return result;
	}
	InstanceLock lock(tcpxi.pin_dir(), tcpxi.options().lock_wait_seconds);
	result.plan = make_plan(tcpxi, config, options.prune);
	if (result.plan.empty())
		return result;
	Executor(tcpxi).run(result.plan, options, result.notes);
	result.applied = true;
	return result;
}

std::vector<std::string> remove_everything(const Tcpxi &tcpxi)
{
	InstanceLock lock(tcpxi.pin_dir(), tcpxi.options().lock_wait_seconds);
	std::vector<std::string> notes;
	LinkPins links(tcpxi.pin_dir());
	for (const auto &pin : links.all()) {
		links.detach(pin);
		notes.push_back("detached " + pin.plugin + " from cgroup id " + std::to_string(pin.cgroup_id));
	}
	CcRegistry registry(tcpxi.pin_dir());
	for (const auto &reg : registry.list())
		notes.push_back(registry.unregister_algorithm(reg.algorithm));
	ProgramStore store(tcpxi.pin_dir());
	for (const auto &name : list_pin_dir(tcpxi.pin_dir() + "/plugins")) {
		store.unload(name);
		notes.push_back("unloaded plugin " + name);
	}
	return notes;
}

} // namespace tcpxi
