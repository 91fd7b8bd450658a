// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// The objects compiled from bpf/*.bpf.c: each carries a manifest that agrees with
// its BTF, so the loader can write parameters without plugin-specific code.
#include <gtest/gtest.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <memory>

#include <tcpxi/error.hpp>
#include <tcpxi/plugin.hpp>

using namespace tcpxi;

TEST(BuiltinPlugins, TheFoundationSetIsThere)
{
	for (const char *name : {"tune", "cc", "reno", "cubic"})
		EXPECT_NE(find_builtin_plugin(name), nullptr) << name;
	EXPECT_EQ(find_builtin_plugin("cubic")->manifest.kind, PluginKind::congestion_control);
	EXPECT_EQ(find_builtin_plugin("tune")->manifest.kind, PluginKind::sockops);
}

TEST(BuiltinPlugins, ManifestParametersAndCountersMatchTheirBtf)
{
	for (const auto &plugin : builtin_plugins()) {
		if (plugin.manifest.kind != PluginKind::sockops)
			continue;
		LIBBPF_OPTS(bpf_object_open_opts, opts);
		std::unique_ptr<bpf_object, decltype(&bpf_object__close)> obj(
			bpf_object__open_mem(plugin.object.data(), plugin.object.size(), &opts), &bpf_object__close);
		ASSERT_TRUE(obj) << plugin.manifest.name;
		const btf *object_btf = bpf_object__btf(obj.get());
		ASSERT_TRUE(object_btf);
		auto members_of = [&](const char *type_name) {
			std::vector<std::string> names;
			int id = btf__find_by_name_kind(object_btf, type_name, BTF_KIND_STRUCT);
			if (id < 0)
				return names;
			const btf_type *t = btf__type_by_id(object_btf, id);
			const btf_member *m = btf_members(t);
			for (unsigned i = 0; i < btf_vlen(t); i++, m++)
				names.push_back(btf__name_by_offset(object_btf, m->name_off));
			return names;
		};
		std::vector<std::string> expected_params{"set"};
		for (const auto &p : plugin.manifest.params)
			expected_params.push_back(p.name);
		EXPECT_EQ(members_of("tcpxi_params"), expected_params) << plugin.manifest.name;
		std::vector<std::string> expected_counters;
		for (const auto &c : plugin.manifest.counters)
			expected_counters.push_back(c.name);
		EXPECT_EQ(members_of("tcpxi_counters"), expected_counters) << plugin.manifest.name;
	}
}

TEST(BuiltinPlugins, RejectsObjectsWithoutAManifest)
{
	const std::vector<uint8_t> not_elf{'h', 'e', 'l', 'l', 'o'};
	EXPECT_THROW(plugin_from_object(not_elf, "hello.o"), Error);
}
