// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi daemon: apply the config at start, tell systemd (Type=notify), re-apply on
// SIGHUP, leave (or remove) the attachments on SIGTERM.
#pragma once

#include <string>

#include <tcpxi/tcpxi.hpp>

namespace tcpxi {

struct DaemonOptions {
	std::string config;
	bool prune = false;
	bool detach_on_exit = false;
	int interval_seconds = 0; // re-apply this often (new cgroups matching patterns); 0: only on SIGHUP
	std::string metrics;      // ADDRESS:PORT of the metrics endpoint; empty: none
};

// Runs until SIGTERM or SIGINT; returns the exit code.
int run_daemon(const Tcpxi &tcpxi, const DaemonOptions &options);

} // namespace tcpxi
