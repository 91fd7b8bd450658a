// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// What every command of the tcpxi tool shares: the global flags, output helpers, and
// the library handle. Each command lives in its own cmd_<name>.cpp and registers
// itself with add_<name>_command().
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include <tcpxi/tcpxi.hpp>

namespace tcpxi::cli {

struct Context {
	bool json = false;
	bool pretty = false;
	int verbose = 0;
	std::string instance = "tcpxi";
	int wait_seconds = 5;

	bool wants_json() const { return json || pretty; }
	void print_json(const nlohmann::json &value) const;
	void print_report(const Report &report) const;
	// The library, configured from the global flags (created on first use).
	Tcpxi &tcpxi();
	// Throws Error(permission) naming the command when not root.
	void require_root(const std::string &command) const;

private:
	std::unique_ptr<Tcpxi> tcpxi_;
};

void add_plugin_command(CLI::App &app, Context &ctx);
void add_attach_command(CLI::App &app, Context &ctx);
void add_detach_command(CLI::App &app, Context &ctx);
void add_set_command(CLI::App &app, Context &ctx);
void add_status_command(CLI::App &app, Context &ctx);
void add_apply_command(CLI::App &app, Context &ctx);
void add_daemon_command(CLI::App &app, Context &ctx);
void add_features_command(CLI::App &app, Context &ctx);
void add_stats_command(CLI::App &app, Context &ctx);
void add_top_command(CLI::App &app, Context &ctx);
void add_snmp_command(CLI::App &app, Context &ctx);

} // namespace tcpxi::cli
