// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Reads /etc/tcpxi/tcpxi.toml with toml++ (which knows where each key and value is)
// and checks everything that does not need the kernel, so that a bad file fails
// before any change with one line "file:line:column: problem; fix".
#include <tcpxi/config.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <tuple>
#include <map>
#include <sstream>

#include <toml++/toml.h>

#include <tcpxi/error.hpp>
#include <tcpxi/plugin.hpp>

namespace tcpxi {

namespace {

constexpr const char *kSeeMan = " (see tcpxi.toml(5))";

// toml++ keeps a table's keys sorted; errors and the plan follow the file's order.
std::vector<std::pair<const toml::key *, const toml::node *>> in_file_order(const toml::table &table)
{
	std::vector<std::pair<const toml::key *, const toml::node *>> entries;
	for (const auto &[key, node] : table)
		entries.emplace_back(&key, &node);
	std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) {
		const auto &x = a.first->source().begin, &y = b.first->source().begin;
		return std::tie(x.line, x.column) < std::tie(y.line, y.column);
	});
	return entries;
}

class Checker {
public:
	explicit Checker(std::string file) : file_(std::move(file)) {}

	SourceLocation at(const toml::source_region &region) const
	{
		return {file_, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
	}

	[[noreturn]] void fail(const toml::source_region &region, const std::string &message) const
	{
		throw Error(ErrorKind::usage, at(region).str() + ": " + message);
	}

	const toml::table &table_of(const toml::node &node, const std::string &what, const std::string &fix) const
	{
		if (const toml::table *table = node.as_table())
			return *table;
		fail(node.source(), what + " must be a table, not " + type_name(node) + "; " + fix);
	}

	static std::string type_name(const toml::node &node)
	{
		switch (node.type()) {
		case toml::node_type::table: return "a table";
		case toml::node_type::array: return "an array";
		case toml::node_type::string: return "a string";
		case toml::node_type::integer: return "an integer";
		case toml::node_type::floating_point: return "a float";
		case toml::node_type::boolean: return "a boolean";
		default: return "a date or time";
		}
	}

	std::vector<CongestionControlEntry> congestion_controls(const toml::node &node) const
	{
		const toml::array *array = node.as_array();
		if (!array)
			fail(node.source(), "congestion_controls must be an array of plugin names, e.g. [\"cubic\"]" +
						    std::string(kSeeMan));
		std::vector<CongestionControlEntry> entries;
		for (const auto &element : *array) {
			const auto *name = element.as_string();
			if (!name)
				fail(element.source(), "congestion_controls lists plugin names (strings), not " +
							       type_name(element));
			const Plugin *plugin = find_builtin_plugin(name->get());
			if (!plugin || plugin->manifest.kind != PluginKind::congestion_control)
				fail(element.source(), "'" + name->get() + "' is not a tcpxi congestion-control plugin; " +
							       congestion_plugins());
			for (const auto &seen : entries)
				if (seen.plugin == name->get())
					fail(element.source(), "congestion control '" + name->get() + "' is listed twice (also at " +
								       seen.where.str() + "); remove one");
			entries.push_back({name->get(), at(element.source())});
		}
		return entries;
	}

	static std::string congestion_plugins()
	{
		std::string names;
		for (const auto &plugin : builtin_plugins())
			if (plugin.manifest.kind == PluginKind::congestion_control)
				names += (names.empty() ? "" : ", ") + plugin.manifest.name;
		return "tcpxi has: " + names;
	}

	static std::string all_plugins()
	{
		std::string names;
		for (const auto &plugin : builtin_plugins())
			names += (names.empty() ? "" : ", ") + plugin.manifest.name;
		return names;
	}

	// A path relative to the cgroup2 mount, as "/a/b" ("/" for the root).
	std::string normalize(const std::string &raw, const toml::source_region &where) const
	{
		std::string path;
		std::istringstream parts(raw);
		std::string part;
		while (std::getline(parts, part, '/')) {
			if (part.empty())
				continue;
			if (part == "." || part == "..")
				fail(where, "cgroup path '" + raw + "' contains '" + part +
						    "'; write the path relative to the cgroup2 mount without . or ..");
			path += "/" + part;
		}
		for (unsigned char c : raw)
			if (c < 0x20 || c == 0x7f)
				fail(where, "cgroup path contains a control character; write a plain path");
		return path.empty() ? "/" : path;
	}

	ParamValue value_of(const Plugin &plugin, const ParamSpec &spec, const toml::node &node) const
	{
		std::string text;
		std::string expected;
		switch (spec.type) {
		case ParamType::boolean:
			expected = "true or false";
			if (const auto *b = node.as_boolean())
				text = b->get() ? "on" : "off";
			break;
		case ParamType::str:
			expected = "a string";
			if (const auto *s = node.as_string())
				text = s->get();
			break;
		case ParamType::u32:
		case ParamType::u64:
			expected = "an integer";
			if (const auto *i = node.as_integer()) {
				if (i->get() < 0)
					fail(node.source(), plugin.manifest.name + "." + spec.name + " = " +
								    std::to_string(i->get()) + " is negative; use " +
								    std::to_string(spec.min) + " to " + std::to_string(spec.max));
				text = std::to_string(i->get());
			}
			break;
		}
		if (text.empty() && !(spec.type == ParamType::str && node.is_string()))
			fail(node.source(), plugin.manifest.name + "." + spec.name + " must be " + expected + ", not " +
						    type_name(node) + " (see `tcpxi plugin show " + plugin.manifest.name + "`)");
		try {
			return parse_value(plugin.manifest, spec, text);
		} catch (const Error &e) {
			fail(node.source(), e.what());
		}
	}

	PluginEntry plugin_entry(const toml::key &key, const toml::node &node) const
	{
		const Plugin *plugin = find_builtin_plugin(std::string(key.str()));
		if (!plugin)
			fail(key.source(), "unknown plugin '" + std::string(key.str()) + "'; tcpxi has: " + all_plugins());
		const toml::table &params = table_of(node, "plugin " + plugin->manifest.name,
						     "write " + plugin->manifest.name + " = { key = value, ... } or {}");
		PluginEntry entry{plugin->manifest.name, {}, at(key.source())};
		for (const auto &[pkey_ptr, pnode_ptr] : in_file_order(params)) {
			const toml::key &pkey = *pkey_ptr;
			const toml::node &pnode = *pnode_ptr;
			const ParamSpec *spec = plugin->manifest.find_param(std::string(pkey.str()));
			if (!spec) {
				std::string known;
				for (const auto &p : plugin->manifest.params)
					known += (known.empty() ? "" : ", ") + p.name;
				fail(pkey.source(), "unknown parameter '" + std::string(pkey.str()) + "' for plugin " +
							    plugin->manifest.name +
							    (known.empty() ? " (it takes none)" : " (it takes: " + known + ")"));
			}
			entry.values[spec->name] = value_of(*plugin, *spec, pnode);
		}
		if (plugin->manifest.name == "cc" && !entry.values.count("algorithm"))
			fail(key.source(), "plugin cc needs algorithm = \"NAME\" (e.g. \"bbr\"); for tcpxi's own "
					   "algorithms name the plugin instead: cubic = {}");
		return entry;
	}

	CgroupEntry cgroup_entry(const toml::key &key, const toml::node &node) const
	{
		CgroupEntry entry;
		entry.where = at(key.source());
		entry.path = normalize(std::string(key.str()), key.source());
		entry.pattern = entry.path.find_first_of("*?[") != std::string::npos;
		const toml::table &plugins =
			table_of(node, "cgroup \"" + std::string(key.str()) + "\"", "list its plugins: tune = { ... }");
		std::optional<PluginEntry> congestion;
		for (const auto &[pkey, pnode] : in_file_order(plugins)) {
			entry.plugins.push_back(plugin_entry(*pkey, *pnode));
			const PluginEntry &added = entry.plugins.back();
			const Plugin *plugin = find_builtin_plugin(added.plugin);
			if (added.plugin == "cc" || plugin->manifest.kind == PluginKind::congestion_control) {
				if (congestion)
					fail(pkey->source(), "cgroup \"" + std::string(key.str()) +
								     "\" has two congestion controls (" + congestion->plugin +
								     " at " + congestion->where.str() + " and " + added.plugin +
								     "); keep one");
				congestion = added;
			}
		}
		return entry;
	}

	Config config(const toml::table &root) const
	{
		Config config;
		config.file = file_;
		std::map<std::string, SourceLocation> seen;
		for (const auto &[key_ptr, node_ptr] : in_file_order(root)) {
			const toml::key &key = *key_ptr;
			const toml::node &node = *node_ptr;
			if (key.str() == "congestion_controls") {
				config.congestion_controls = congestion_controls(node);
			} else if (key.str() == "cgroups") {
				const toml::table &cgroups =
					table_of(node, "cgroups", "write [cgroups.\"system.slice/x.service\"]");
				for (const auto &[ckey, cnode] : in_file_order(cgroups)) {
					CgroupEntry entry = cgroup_entry(*ckey, *cnode);
					auto [it, fresh] = seen.emplace(entry.path, entry.where);
					if (!fresh)
						fail(ckey->source(), "cgroup " + entry.path + " is configured twice (also at " +
									    it->second.str() + "); merge the two entries");
					config.cgroups.push_back(std::move(entry));
				}
			} else {
				fail(key.source(), "unknown key '" + std::string(key.str()) +
							   "'; the top level has congestion_controls and [cgroups.\"PATH\"]" +
							   kSeeMan);
			}
		}
		return config;
	}

private:
	std::string file_;
};

// "line:column: problem" for the first byte that is not UTF-8 or is a control
// character TOML forbids; "" if there is none. toml++ 3.3 asserts on some of these
// instead of reporting them, so they never reach it.
std::string bad_byte(std::string_view text)
{
	size_t line = 1, column = 1;
	for (size_t i = 0; i < text.size();) {
		auto byte = static_cast<unsigned char>(text[i]);
		size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xe ? 3 : (byte >> 3) == 0x1e ? 4 : 0;
		bool ok = length > 0 && i + length <= text.size() && !(length == 2 && byte < 0xc2) && !(byte > 0xf4);
		uint32_t cp = length == 1 ? byte : byte & (0x7f >> length);
		for (size_t k = 1; ok && k < length; k++) {
			auto next = static_cast<unsigned char>(text[i + k]);
			ok = (next & 0xc0) == 0x80;
			cp = (cp << 6) | (next & 0x3f);
		}
		// Overlong forms, surrogates and values past U+10FFFF are not UTF-8 either.
		if (ok && ((length == 3 && cp < 0x800) || (length == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
			   (cp >= 0xd800 && cp <= 0xdfff)))
			ok = false;
		if (!ok)
			return std::to_string(line) + ":" + std::to_string(column) + ": the file is not valid UTF-8; save it as UTF-8";
		// TOML allows no control characters but tab, CR and LF anywhere.
		if ((byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7f) {
			char code[8];
			snprintf(code, sizeof(code), "U+%04X", byte);
			return std::to_string(line) + ":" + std::to_string(column) + ": control character " + code +
			       " (TOML allows none but tab and line ends); remove it";
		}
		if (byte == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
		i += length;
	}
	return {};
}

// "line:column: problem" for the first non-ASCII character outside a string or a
// comment, where TOML never allows one; "" if there is none. toml++ 3.3 reaches an
// "unreachable" branch when classifying some of them (undefined behaviour), so they
// never reach it.
std::string non_ascii_outside_strings(std::string_view text)
{
	enum { code, comment, basic, literal, multi_basic, multi_literal } state = code;
	size_t line = 1, column = 1;
	for (size_t i = 0; i < text.size(); i++) {
		char c = text[i];
		auto starts = [&](std::string_view what) { return text.substr(i, what.size()) == what; };
		size_t skip = 0;
		switch (state) {
		case code:
			if (static_cast<unsigned char>(c) >= 0x80)
				return std::to_string(line) + ":" + std::to_string(column) +
				       ": non-ASCII character outside a string or comment; TOML allows it only there";
			if (c == '#')
				state = comment;
			else if (starts("\"\"\""))
				state = multi_basic, skip = 2;
			else if (starts("'''"))
				state = multi_literal, skip = 2;
			else if (c == '"')
				state = basic;
			else if (c == '\'')
				state = literal;
			break;
		case comment:
			if (c == '\n')
				state = code;
			break;
		case basic:
			if (c == '\\')
				skip = 1;
			else if (c == '"' || c == '\n')
				state = code;
			break;
		case literal:
			if (c == '\'' || c == '\n')
				state = code;
			break;
		case multi_basic:
			if (c == '\\')
				skip = 1;
			else if (starts("\"\"\""))
				state = code, skip = 2;
			break;
		case multi_literal:
			if (starts("'''"))
				state = code, skip = 2;
			break;
		}
		for (size_t k = 0; k <= skip && i < text.size(); k++, i++) {
			if (text[i] == '\n') {
				line++;
				column = 1;
			} else if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {
				column++;
			}
		}
		i--;
	}
	return {};
}

} // namespace

std::string SourceLocation::str() const
{
	return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

Config parse_config(std::string_view text, const std::string &file)
{
	for (const std::string &problem : {bad_byte(text), non_ascii_outside_strings(text)})
		if (!problem.empty())
			throw Error(ErrorKind::usage, file + ":" + problem);
	toml::table root;
	try {
		root = toml::parse(text, file);
	} catch (const toml::parse_error &e) {
		std::string description(e.description());
		for (char &c : description)
			if (c == '\n' || c == '\r')
				c = ' ';
		throw Error(ErrorKind::usage, file + ":" + std::to_string(e.source().begin.line) + ":" +
						      std::to_string(e.source().begin.column) + ": " + description +
						      " (TOML syntax)");
	}
	return Checker(file).config(root);
}

Config load_config(const std::string &file)
{
	std::ifstream in(file, std::ios::binary);
	if (!in)
		throw Error(ErrorKind::usage, "cannot read config " + file +
						      ": no such file or not readable (give another with --config FILE; "
						      "an example is in /usr/share/doc/tcpxi/tcpxi.toml.example)");
	std::ostringstream text;
	text << in.rdbuf();
	return parse_config(text.str(), file);
}

} // namespace tcpxi
