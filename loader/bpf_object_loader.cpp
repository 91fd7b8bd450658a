// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "bpf_object_loader.hpp"

#include <cerrno>
#include <cstring>

#include <tcpxi/error.hpp>

#include "kernel_hz.hpp"

namespace tcpxi {

BpfObjectPtr open_bpf_object(std::span<const uint8_t> image, const std::string &origin)
{
	// Supplying the kconfig ourselves keeps libbpf from failing on hosts without a
	// readable kernel config; an unknown HZ leaves CONFIG_HZ (declared __weak) at 0.
	unsigned hz = kernel_hz();
	std::string kconfig = hz ? "CONFIG_HZ=" + std::to_string(hz) + "\n" : "";
	// libbpf names internal maps (.rodata, .kconfig) after the object: keep them ours.
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "tcpxi", .kconfig = kconfig.c_str());
	bpf_object *obj = bpf_object__open_mem(image.data(), image.size(), &opts);
	if (!obj)
		throw_errno(errno, "cannot open BPF object " + origin, "is it built with clang -target bpf -g?");
	return BpfObjectPtr(obj);
}

void load_bpf_object(bpf_object *obj, const std::string &origin)
{
	int err = bpf_object__load(obj);
	if (!err)
		return;
	if (err == -EPERM || err == -EACCES)
		throw_errno(err, "the kernel refused to load " + origin);
	throw Error(ErrorKind::kernel, "the kernel refused to load " + origin + ": " + std::string(strerror(-err)) +
					       " (run with -v to see the libbpf and verifier log)");
}

} // namespace tcpxi
