// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// tcpxi snmp: net-snmp pass_persist on stdin/stdout (see docs/statistics.md).
#include <iostream>

#include <tcpxi/stats.hpp>

#include "command.hpp"

namespace tcpxi::cli {

void add_snmp_command(CLI::App &app, Context &ctx)
{
	auto base = std::make_shared<std::string>(kTcpxiMibOid);
	auto cache_ms = std::make_shared<int>(1000);
	auto *cmd = app.add_subcommand(
		"snmp", "Serve the per-cgroup counters to snmpd (pass_persist " + std::string(kTcpxiMibOid) + " tcpxi snmp)");
	cmd->add_option("--base-oid", *base, "The OID snmpd passes to tcpxi (the MIB's is the default)");
	cmd->add_option("--cache-ms", *cache_ms, "Read the kernel at most this often")->check(CLI::Range(0, 60000));
	cmd->callback([&ctx, base, cache_ms] {
		ctx.require_root("snmp");
		std::ios::sync_with_stdio(false);
		serve_pass_persist(std::cin, std::cout, [&ctx] { return read_stats(ctx.tcpxi()); }, *base, *cache_ms);
	});
}

} // namespace tcpxi::cli
