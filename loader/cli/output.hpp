// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include <tcpxi/tcpxi.hpp>

namespace tcpxi::cli {

// Every read command has a table for people and JSON for scripts (bpftool style:
// snake_case keys, [] when empty).
nlohmann::json to_json(const Plugin &plugin);
nlohmann::json to_json(const Status &status);
nlohmann::json to_json(const Report &report);

std::string plugin_table(const std::vector<Plugin> &plugins);
std::string plugin_details(const Plugin &plugin);
std::string status_table(const Status &status);

// Aligns columns: each row the same number of cells as the header.
std::string format_table(const std::vector<std::vector<std::string>> &rows);

} // namespace tcpxi::cli
