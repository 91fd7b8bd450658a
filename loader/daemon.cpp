// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "daemon.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>

#include <tcpxi/apply.hpp>
#include <tcpxi/stats.hpp>

#include "sd_notify.hpp"

namespace tcpxi {

namespace {

enum Priority { kErr = 3, kWarning = 4, kInfo = 6 };

// Under systemd stderr goes to the journal, which reads a "<N>" prefix as the
// priority; elsewhere the lines carry the program name instead.
void log(Priority priority, const std::string &message)
{
	static const bool journal = getenv("JOURNAL_STREAM") != nullptr;
	if (journal)
		std::cerr << '<' << priority << '>' << message << '\n';
	else
		std::cerr << "tcpxi: " << message << '\n';
	std::cerr.flush();
}

std::string monotonic_usec()
{
	timespec ts {};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return std::to_string(uint64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
}

std::string summary(const Tcpxi &tcpxi)
{
	Status status = tcpxi.status();
	std::set<uint64_t> cgroups;
	size_t attached = 0;
	for (const auto &att : status.attachments)
		if (att.attached) {
			attached++;
			cgroups.insert(att.cgroup_id);
		}
	return std::to_string(attached) + " attachments in " + std::to_string(cgroups.size()) + " cgroups, " +
	       std::to_string(status.congestion_controls.size()) + " congestion controls";
}

class Daemon {
public:
	Daemon(const Tcpxi &tcpxi, const DaemonOptions &options) : tcpxi_(tcpxi), options_(options) {}

	int run()
	{
		sigset_t signals;
		sigemptyset(&signals);
		for (int sig : {SIGHUP, SIGTERM, SIGINT})
			sigaddset(&signals, sig);
		sigprocmask(SIG_BLOCK, &signals, nullptr);
		UniqueFd sfd(signalfd(-1, &signals, SFD_CLOEXEC));
		if (!sfd)
			throw_errno(errno, "cannot create a signalfd");

		log(kInfo, "starting: config " + options_.config + ", instance " + tcpxi_.options().instance);
		std::unique_ptr<MetricsServer> metrics;
		if (!options_.metrics.empty()) {
			try {
				metrics = MetricsServer::for_instance(tcpxi_.options(), options_.metrics);
				metrics->start();
				log(kInfo, "serving metrics at " + metrics->url());
			} catch (const Error &e) {
				log(kErr, std::string("cannot serve metrics: ") + e.what());
				sd_notify("STATUS=failed: " + std::string(e.what()));
				return e.exit_code();
			}
		}
		try {
			apply("start");
		} catch (const Error &e) {
			log(kErr, std::string("cannot apply at start: ") + e.what());
			sd_notify("STATUS=failed: " + std::string(e.what()) + "\nERRNO=22");
			return e.exit_code();
		}
		sd_notify("READY=1\nSTATUS=" + status_line());

		const char *watchdog = getenv("WATCHDOG_USEC");
		long watchdog_ms = watchdog ? std::strtol(watchdog, nullptr, 10) / 2000 : 0;
		auto next_apply = std::chrono::steady_clock::now() + std::chrono::seconds(options_.interval_seconds);
		for (;;) {
			int timeout = -1;
			if (watchdog_ms > 0)
				timeout = int(watchdog_ms);
			if (options_.interval_seconds > 0) {
				auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_apply - std::chrono::steady_clock::now()).count();
				left = std::max<long>(left, 0);
				timeout = timeout < 0 ? int(left) : std::min<int>(timeout, int(left));
			}
			pollfd pfd{sfd.get(), POLLIN, 0};
			int ready = poll(&pfd, 1, timeout);
			if (watchdog_ms > 0)
				sd_notify("WATCHDOG=1");
			if (ready < 0 && errno != EINTR)
				throw_errno(errno, "poll");
			if (ready <= 0) {
				if (options_.interval_seconds > 0 && std::chrono::steady_clock::now() >= next_apply) {
					reapply("interval", false);
					next_apply = std::chrono::steady_clock::now() + std::chrono::seconds(options_.interval_seconds);
				}
				continue;
			}
			signalfd_siginfo info {};
			if (read(sfd.get(), &info, sizeof(info)) != sizeof(info))
				continue;
			if (info.ssi_signo == SIGHUP) {
				reapply("reload", true);
				continue;
			}
			return stop();
		}
	}

private:
	std::string status_line() const
	{
		std::string text = last_result_ + "; " + summary(tcpxi_);
		return text;
	}

	void apply(const std::string &why)
	{
		Config config = load_config(options_.config);
		ApplyOptions options;
		options.prune = options_.prune;
		ApplyResult result = apply_config(tcpxi_, config, options);
		for (const auto &step : result.plan.steps)
			log(kInfo, describe_step(step));
		for (const auto &note : result.notes)
			log(kInfo, note);
		if (!result.plan.left_alone.empty())
			log(kInfo, std::to_string(result.plan.left_alone.size()) +
					   " attachments not in the file are left alone (--prune detaches them)");
		last_result_ = result.plan.empty() ? "applied " + options_.config + " (" + why + ", no changes)"
						   : "applied " + options_.config + " (" + why + ", " +
							     std::to_string(result.plan.steps.size()) + " changes)";
		log(kInfo, last_result_);
	}

	void reapply(const std::string &why, bool tell_systemd)
	{
		if (tell_systemd)
			sd_notify("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec() + "\nSTATUS=reloading " + options_.config);
		try {
			apply(why);
		} catch (const Error &e) {
			// The apply undid itself: the previous state stays, and so does the daemon.
			last_result_ = std::string(why) + " failed, previous state kept: " + e.what();
			log(kErr, last_result_);
		}
		try {
			sd_notify((tell_systemd ? "READY=1\n" : "") + std::string("STATUS=") + status_line());
		} catch (const Error &e) {
			log(kWarning, e.what());
		}
	}

	int stop()
	{
		sd_notify("STOPPING=1\nSTATUS=stopping");
		if (options_.detach_on_exit) {
			try {
				for (const auto &note : remove_everything(tcpxi_))
					log(kInfo, note);
			} catch (const Error &e) {
				log(kErr, std::string("cannot remove the attachments: ") + e.what());
				return e.exit_code();
			}
			log(kInfo, "stopped; attachments removed (--detach-on-exit)");
		} else {
			log(kInfo, "stopped; attachments stay in place");
		}
		return 0;
	}

	const Tcpxi &tcpxi_;
	const DaemonOptions &options_;
	std::string last_result_;
};

} // namespace

int run_daemon(const Tcpxi &tcpxi, const DaemonOptions &options)
{
	return Daemon(tcpxi, options).run();
}

} // namespace tcpxi
