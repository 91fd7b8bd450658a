// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// How `tcpxi stats` and `tcpxi top` show statistics: JSON, tables, connection columns.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include <tcpxi/stats.hpp>

namespace tcpxi::cli {

nlohmann::json to_json(const StatsSnapshot &snapshot);
nlohmann::json to_json(const ConnStats &conn);

// Per-cgroup TCP counters, then every plugin's counters.
std::string stats_tables(const StatsSnapshot &snapshot);

// A column of the connection view: header, cell text, sort key.
struct ConnColumn {
	std::string name; // header, also the --sort name (lower case)
	std::function<std::string(const ConnStats &)> text;
	std::function<double(const ConnStats &)> key; // null: sort by text
	bool numeric_descending = true;              // a bigger value first by default
};
const std::vector<ConnColumn> &conn_columns();
// Index of the column with that name (case-insensitive), or -1.
int find_conn_column(const std::string &name);

// Sorted copy: by column `sort`, reversed when `reverse`.
std::vector<ConnStats> sort_connections(std::vector<ConnStats> conns, int sort, bool reverse);

// The rows of the connection table (header first), at most `limit` connections.
std::vector<std::vector<std::string>> connection_rows(const std::vector<ConnStats> &conns, size_t limit = SIZE_MAX);

// RTT quantile estimated from the histogram (the bucket's upper bound), microseconds.
uint64_t rtt_quantile_us(const RttHistogram &h, double q);

std::string human_bytes(uint64_t bytes);

} // namespace tcpxi::cli
