// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Kernel feature probes. Each one asks the kernel itself: a map is created, a tiny
// program is loaded (and, where the answer comes only at run time, run on a real
// connection), exactly as tcpxi would use the feature. Kernel versions are only
// reported, never trusted.
#include <tcpxi/features.hpp>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include <tcpxi/cgroup.hpp>
#include <tcpxi/error.hpp>
#include <tcpxi/unique_fd.hpp>

#include "uapi_compat.hpp"

namespace tcpxi {

namespace {

// ---- the catalogue ------------------------------------------------------------------
// Kept in one place so that `tcpxi features`, the manifest check and the docs agree.
const std::vector<Feature> kCatalogue = {
	{"btf", "kernel BTF at /sys/kernel/btf/vmlinux (CO-RE, struct_ops)", "5.4", false, ""},
	{"sock_ops", "BPF_PROG_TYPE_SOCK_OPS programs", "4.13", false, ""},
	{"cgroup_storage", "BPF_MAP_TYPE_CGROUP_STORAGE (per-cgroup parameters)", "4.19", false, ""},
	{"percpu_cgroup_storage", "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE (per-cgroup counters)", "4.20", false, ""},
	{"sk_storage", "BPF_MAP_TYPE_SK_STORAGE (per-socket state)", "5.2", false, ""},
	{"cgroup_link", "cgroup bpf_link (BPF_LINK_CREATE on a cgroup, pinnable attachments)", "5.7", false, ""},
	{"hdr_opt_helpers", "TCP header options: bpf_reserve_hdr_opt, bpf_store_hdr_opt, bpf_load_hdr_opt in sock_ops",
	 "5.10", false, ""},
	{"setsockopt_rto_min", "bpf_setsockopt(TCP_BPF_RTO_MIN)", "5.10", false, ""},
	{"setsockopt_delack_max", "bpf_setsockopt(TCP_BPF_DELACK_MAX)", "5.10", false, ""},
	{"struct_ops", "BPF_MAP_TYPE_STRUCT_OPS for tcp_congestion_ops (congestion controls in BPF)", "5.6", false,
	 ""},
	{"tcp_cc_kfuncs", "TCP congestion-control kfuncs (tcp_reno_ssthresh, tcp_slow_start, ...) from struct_ops",
	 "5.13", false, ""},
	{"struct_ops_link", "struct_ops maps as links (BPF_F_LINK): pinnable, released with their last reference",
	 "6.4", false, ""},
	{"cgroup_preorder", "BPF_F_PREORDER: a cgroup program that runs before its descendants' programs", "6.15",
	 false, ""},
};

Feature &entry(KernelFeatures &kf, const std::string &id)
{
	for (auto &f : kf.features)
		if (f.id == id)
			return f;
	throw Error(ErrorKind::kernel, "internal: unknown feature " + id);
}

void set(KernelFeatures &kf, const std::string &id, bool available, std::string note = {})
{
	Feature &f = entry(kf, id);
	f.available = available;
	f.note = available ? std::string() : std::move(note);
}

std::string errno_text(int err)
{
	return std::string(strerror(err)) + " (errno " + std::to_string(err) + ")";
}

// ---- raw instructions, as bpftool's probes write them ---------------------------------

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	bpf_insn i {};
	i.code = code;
	i.dst_reg = dst;
	i.src_reg = src;
	i.off = off;
	i.imm = imm;
	return i;
}
bpf_insn mov_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn mov_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn add_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
bpf_insn ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_LDX | size | BPF_MEM, dst, src, off, 0); }
bpf_insn stx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_STX | size | BPF_MEM, dst, src, off, 0); }
bpf_insn st(uint8_t size, uint8_t dst, int16_t off, int32_t imm) { return insn(BPF_ST | size | BPF_MEM, dst, 0, off, imm); }
bpf_insn call(int32_t helper) { return insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
bpf_insn call_kfunc(int32_t btf_id) { return insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, btf_id); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
void ld_map_fd(std::vector<bpf_insn> &prog, uint8_t dst, int fd)
{
	prog.push_back(insn(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd));
	prog.push_back(insn(0, 0, 0, 0, 0));
}

UniqueFd load_prog(bpf_prog_type type, const std::vector<bpf_insn> &prog, const bpf_prog_load_opts *opts = nullptr,
		   const char *license = "GPL")
{
	return UniqueFd(bpf_prog_load(type, "tcpxi_probe", license, prog.data(), prog.size(), opts));
}

// A sock_ops program that does nothing ("return 1").
UniqueFd trivial_sock_ops()
{
	return load_prog(BPF_PROG_TYPE_SOCK_OPS, {mov_imm(BPF_REG_0, 1), exit_insn()});
}

// ---- a cgroup for the probes that attach ----------------------------------------------
// Attaching to an existing cgroup would change the behaviour of its processes for the
// duration of the probe; a fresh, empty cgroup affects nobody.
class ProbeCgroup {
public:
	ProbeCgroup()
	{
		try {
			path_ = cgroup2_mount() + "/tcpxi-probe-" + std::to_string(getpid());
		} catch (const Error &e) {
			error_ = e.what();
			return;
		}
		if (mkdir(path_.c_str(), 0755) && errno != EEXIST) {
			error_ = "cannot create " + path_ + ": " + errno_text(errno);
			path_.clear();
			return;
		}
		fd_.reset(open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
		if (!fd_)
			error_ = "cannot open " + path_ + ": " + errno_text(errno);
	}
	~ProbeCgroup()
	{
		fd_.reset();
		if (path_.empty())
			return;
		for (int i = 0; i < 100; i++) {
			if (!rmdir(path_.c_str()) || errno == ENOENT)
				return;
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
		}
	}
	ProbeCgroup(const ProbeCgroup &) = delete;
	ProbeCgroup &operator=(const ProbeCgroup &) = delete;

	int fd() const { return fd_.get(); }
	const std::string &path() const { return path_; }
	const std::string &error() const { return error_; }

private:
	std::string path_;
	std::string error_;
	UniqueFd fd_;
};

// Runs a child in the cgroup that opens one TCP connection to 127.0.0.1 (nothing needs
// to listen: the sock_ops TCP_CONNECT_CB runs before the SYN leaves). Returns "" or why not.
std::string connect_from(const ProbeCgroup &cg)
{
	const std::string procs = cg.path() + "/cgroup.procs";
	pid_t pid = fork();
	if (pid < 0)
		return "fork: " + errno_text(errno);
	if (pid == 0) {
		// Only async-signal-safe calls here: the parent may have threads.
		int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(2);
		close(fd);
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s < 0)
			_exit(3);
		sockaddr_in sin {};
		sin.sin_family = AF_INET;
		sin.sin_port = htons(9);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int rc = connect(s, reinterpret_cast<sockaddr *>(&sin), sizeof(sin));
		_exit(rc == 0 || errno == EINPROGRESS || errno == ECONNREFUSED ? 0 : 4);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		switch (WIFEXITED(status) ? WEXITSTATUS(status) : -1) {
		case 2: return "the probe process cannot join " + cg.path();
		case 3: return "the probe process cannot create a TCP socket";
		case 4: return "the probe connection to 127.0.0.1 failed (is the loopback interface up?)";
		default: return "the probe process failed";
		}
	}
	return "";
}

// ---- the probes -----------------------------------------------------------------------

void probe_simple(KernelFeatures &kf)
{
	auto prog_type = [](bpf_prog_type type) { return libbpf_probe_bpf_prog_type(type, nullptr) == 1; };
	auto map_type = [](bpf_map_type type) { return libbpf_probe_bpf_map_type(type, nullptr) == 1; };
	set(kf, "sock_ops", prog_type(BPF_PROG_TYPE_SOCK_OPS), "the kernel refuses sock_ops programs");
	set(kf, "cgroup_storage", map_type(BPF_MAP_TYPE_CGROUP_STORAGE));
	set(kf, "percpu_cgroup_storage", map_type(BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE));
	set(kf, "sk_storage", map_type(BPF_MAP_TYPE_SK_STORAGE));

	std::string missing;
	for (auto [helper, name] : {std::pair{BPF_FUNC_reserve_hdr_opt, "bpf_reserve_hdr_opt"},
				    std::pair{BPF_FUNC_store_hdr_opt, "bpf_store_hdr_opt"},
				    std::pair{BPF_FUNC_load_hdr_opt, "bpf_load_hdr_opt"}})
		if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCK_OPS, helper, nullptr) != 1)
			missing += (missing.empty() ? "" : ", ") + std::string(name);
	set(kf, "hdr_opt_helpers", missing.empty(), "missing: " + missing);
}

struct VmlinuxBtf {
	btf *handle = nullptr;
	~VmlinuxBtf() { btf__free(handle); }
};

void probe_struct_ops(KernelFeatures &kf, const btf *vmlinux)
{
	if (!vmlinux) {
		for (const char *id : {"struct_ops", "struct_ops_link", "tcp_cc_kfuncs"})
			set(kf, id, false, "needs kernel BTF");
		return;
	}
	// The map tcpxi registers a congestion control with: its value type is the
	// kernel's wrapper of tcp_congestion_ops. Creating it registers nothing.
	int value_id = btf__find_by_name_kind(vmlinux, "bpf_struct_ops_tcp_congestion_ops", BTF_KIND_STRUCT);
	if (value_id < 0) {
		for (const char *id : {"struct_ops", "struct_ops_link"})
			set(kf, id, false, "no bpf_struct_ops_tcp_congestion_ops in the kernel's BTF");
	} else {
		const btf_type *value = btf__type_by_id(vmlinux, value_id);
		// The kernel wants a BTF object of the map's own with any struct_ops map
		// (libbpf passes the object's); a one-type BTF does.
		btf *own = btf__new_empty();
		if (own)
			btf__add_int(own, "int", 4, BTF_INT_SIGNED);
		int btf_fd = own && !btf__load_into_kernel(own) ? btf__fd(own) : -1;
		auto create = [&](unsigned flags) {
			if (btf_fd < 0)
				return errno ? errno : EINVAL;
			LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = static_cast<__u32>(btf_fd),
				    .btf_vmlinux_value_type_id = static_cast<__u32>(value_id), .map_flags = flags);
			UniqueFd map(bpf_map_create(BPF_MAP_TYPE_STRUCT_OPS, "tcpxi_probe", sizeof(uint32_t), value->size,
						    1, &opts));
			return map ? 0 : errno;
		};
		int err = create(0);
		set(kf, "struct_ops", err == 0, "struct_ops map creation: " + errno_text(err));
		err = create(kBpfFLink);
		set(kf, "struct_ops_link", err == 0,
		    err == EINVAL ? "the kernel refuses BPF_F_LINK on struct_ops maps" : "struct_ops map creation: " + errno_text(err));
		btf__free(own);
	}

	// A tcp_congestion_ops.ssthresh program that calls the kfunc tcp_reno_ssthresh():
	// the verifier accepts it only where the kfuncs are registered for struct_ops.
	int ops_id = btf__find_by_name_kind(vmlinux, "tcp_congestion_ops", BTF_KIND_STRUCT);
	int kfunc_id = btf__find_by_name_kind(vmlinux, "tcp_reno_ssthresh", BTF_KIND_FUNC);
	if (ops_id < 0 || kfunc_id < 0) {
		set(kf, "tcp_cc_kfuncs", false, "tcp_congestion_ops or tcp_reno_ssthresh missing from the kernel's BTF");
		return;
	}
	const btf_type *ops = btf__type_by_id(vmlinux, ops_id);
	int member = -1;
	const btf_member *m = btf_members(ops);
	for (int i = 0; i < btf_vlen(ops); i++)
		if (std::strcmp(btf__name_by_offset(vmlinux, m[i].name_off), "ssthresh") == 0)
			member = i;
	if (member < 0) {
		set(kf, "tcp_cc_kfuncs", false, "tcp_congestion_ops has no ssthresh member");
		return;
	}
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = static_cast<bpf_attach_type>(member),
		    .attach_btf_id = static_cast<__u32>(ops_id));
	UniqueFd prog = load_prog(BPF_PROG_TYPE_STRUCT_OPS,
				  {ldx(BPF_DW, BPF_REG_1, BPF_REG_1, 0), call_kfunc(kfunc_id), exit_insn()}, &opts);
	set(kf, "tcp_cc_kfuncs", static_cast<bool>(prog), "the verifier refuses a call of tcp_reno_ssthresh: " + errno_text(errno));
}

// TCP_BPF_* option numbers (uapi <linux/bpf.h>).
constexpr int kTcpBpfDelackMax = 1003;
constexpr int kTcpBpfRtoMin = 1004;
constexpr unsigned kBpfFPreorder = 1U << 6; // BPF_F_PREORDER, 6.15

// bpf_setsockopt() options are checked when the program runs, not when it loads:
// a sock_ops program tries each option on a real connection's TCP_CONNECT_CB and
// records what the kernel returned.
void probe_setsockopt(KernelFeatures &kf, const ProbeCgroup &cg, bool have_link)
{
	const std::vector<std::pair<std::string, int>> options = {{"setsockopt_rto_min", kTcpBpfRtoMin},
								   {"setsockopt_delack_max", kTcpBpfDelackMax}};
	auto fail_all = [&](const std::string &why) {
		for (const auto &[id, optname] : options)
			set(kf, id, false, why);
	};
	if (!cg.fd() || cg.fd() < 0)
		return fail_all(cg.error());
	constexpr uint64_t kNotRun = 0x7fffffff;
	UniqueFd results(bpf_map_create(BPF_MAP_TYPE_ARRAY, "tcpxi_probe", sizeof(uint32_t), sizeof(uint64_t),
					options.size(), nullptr));
	if (!results)
		return fail_all("array map: " + errno_text(errno));
	for (uint32_t k = 0; k < options.size(); k++)
		bpf_map_update_elem(results.get(), &k, &kNotRun, BPF_ANY);

	std::vector<bpf_insn> p;
	p.push_back(mov_reg(BPF_REG_6, BPF_REG_1));
	p.push_back(ldx(BPF_W, BPF_REG_2, BPF_REG_6, offsetof(bpf_sock_ops, op)));
	size_t branch = p.size();
	p.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, BPF_SOCK_OPS_TCP_CONNECT_CB));
	for (uint32_t k = 0; k < options.size(); k++) {
		p.push_back(st(BPF_W, BPF_REG_10, -4, 10000)); // 10 ms: in range for both
		p.push_back(mov_reg(BPF_REG_1, BPF_REG_6));
		p.push_back(mov_imm(BPF_REG_2, IPPROTO_TCP));
		p.push_back(mov_imm(BPF_REG_3, options[k].second));
		p.push_back(mov_reg(BPF_REG_4, BPF_REG_10));
		p.push_back(add_imm(BPF_REG_4, -4));
		p.push_back(mov_imm(BPF_REG_5, 4));
		p.push_back(call(BPF_FUNC_setsockopt));
		p.push_back(stx(BPF_DW, BPF_REG_10, BPF_REG_0, -16));
		p.push_back(st(BPF_W, BPF_REG_10, -20, static_cast<int32_t>(k)));
		ld_map_fd(p, BPF_REG_1, results.get());
		p.push_back(mov_reg(BPF_REG_2, BPF_REG_10));
		p.push_back(add_imm(BPF_REG_2, -20));
		p.push_back(mov_reg(BPF_REG_3, BPF_REG_10));
		p.push_back(add_imm(BPF_REG_3, -16));
		p.push_back(mov_imm(BPF_REG_4, BPF_ANY));
		p.push_back(call(BPF_FUNC_map_update_elem));
	}
	p[branch].off = static_cast<int16_t>(p.size() - branch - 1);
	p.push_back(mov_imm(BPF_REG_0, 1));
	p.push_back(exit_insn());
	UniqueFd prog = load_prog(BPF_PROG_TYPE_SOCK_OPS, p);
	if (!prog)
		return fail_all("the probe program does not load: " + errno_text(errno));

	UniqueFd link;
	bool attached = false;
	if (have_link) {
		link.reset(bpf_link_create(prog.get(), cg.fd(), BPF_CGROUP_SOCK_OPS, nullptr));
		attached = static_cast<bool>(link);
	} else {
		attached = !bpf_prog_attach(prog.get(), cg.fd(), BPF_CGROUP_SOCK_OPS, BPF_F_ALLOW_MULTI);
	}
	if (!attached)
		return fail_all("cannot attach the probe program: " + errno_text(errno));
	std::string why = connect_from(cg);
	if (link)
		link.reset();
	else
		bpf_prog_detach2(prog.get(), cg.fd(), BPF_CGROUP_SOCK_OPS);
	if (!why.empty())
		return fail_all(why);
	for (uint32_t k = 0; k < options.size(); k++) {
		uint64_t value = kNotRun;
		bpf_map_lookup_elem(results.get(), &k, &value);
		int64_t rc = static_cast<int64_t>(value);
		if (value == kNotRun)
			set(kf, options[k].first, false, "the probe connection did not run the program");
		else
			set(kf, options[k].first, rc == 0, "bpf_setsockopt returned " + errno_text(static_cast<int>(-rc)));
	}
}

void probe_cgroup(KernelFeatures &kf)
{
	ProbeCgroup cg;
	if (cg.fd() < 0) {
		for (const char *id : {"cgroup_link", "cgroup_preorder", "setsockopt_rto_min", "setsockopt_delack_max"})
			set(kf, id, false, cg.error());
		return;
	}
	UniqueFd prog = trivial_sock_ops();
	if (!prog) {
		for (const char *id : {"cgroup_link", "cgroup_preorder"})
			set(kf, id, false, "no sock_ops program to attach: " + errno_text(errno));
	} else {
		UniqueFd link(bpf_link_create(prog.get(), cg.fd(), BPF_CGROUP_SOCK_OPS, nullptr));
		set(kf, "cgroup_link", static_cast<bool>(link), "BPF_LINK_CREATE on a cgroup: " + errno_text(errno));
		link.reset();
		int rc = bpf_prog_attach(prog.get(), cg.fd(), BPF_CGROUP_SOCK_OPS, BPF_F_ALLOW_MULTI | kBpfFPreorder);
		int err = errno;
		if (!rc)
			bpf_prog_detach2(prog.get(), cg.fd(), BPF_CGROUP_SOCK_OPS);
		set(kf, "cgroup_preorder", rc == 0,
		    err == EINVAL ? "the kernel refuses BPF_F_PREORDER" : "attach with BPF_F_PREORDER: " + errno_text(err));
	}
	probe_setsockopt(kf, cg, kf.has("cgroup_link"));
}

std::vector<Mechanism> mechanisms_for(const KernelFeatures &kf)
{
	std::vector<Mechanism> out;
	const char *forced = getenv("TCPXI_STRUCT_OPS");
	bool legacy_forced = forced && std::string(forced) == "legacy";
	std::string cc;
	if (!kf.has("struct_ops"))
		cc = "unsupported: the kernel has no struct_ops (kernel >= 5.6)";
	else if (kf.has("struct_ops_link") && !legacy_forced)
		cc = "struct_ops link";
	else if (kf.has("struct_ops_link"))
		cc = "legacy registration (forced by TCPXI_STRUCT_OPS=legacy)";
	else
		cc = "legacy registration";
	out.push_back({"congestion_control_registration", "congestion controls", cc});
	out.push_back({"cgroup_attachment", "cgroup attachments",
		       kf.has("cgroup_link") ? "bpf_link" : "unsupported: tcpxi needs cgroup bpf_link (kernel >= 5.7)"});
	return out;
}

} // namespace

const Feature *KernelFeatures::find(const std::string &id) const
{
	for (const auto &f : features)
		if (f.id == id)
			return &f;
	return nullptr;
}

bool KernelFeatures::has(const std::string &id) const
{
	const Feature *f = find(id);
	return f && f->available;
}

const std::vector<Feature> &known_features()
{
	return kCatalogue;
}

KernelFeatures probe_kernel_features()
{
	KernelFeatures kf;
	utsname uts {};
	uname(&uts);
	kf.kernel_release = uts.release;
	kf.features = kCatalogue;

	// Without the privileges every probe says "no": say why instead.
	{
		UniqueFd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, "tcpxi_probe", 4, 4, 1, nullptr));
		if (!map && (errno == EPERM || errno == EACCES))
			throw Error(ErrorKind::permission,
				    "probing kernel features needs root (CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN): run it with sudo");
	}

	VmlinuxBtf vmlinux;
	vmlinux.handle = btf__load_vmlinux_btf();
	int btf_err = vmlinux.handle ? 0 : errno;
	set(kf, "btf", vmlinux.handle != nullptr,
	    access("/sys/kernel/btf/vmlinux", R_OK) ? "no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)"
						    : "cannot parse /sys/kernel/btf/vmlinux: " + errno_text(btf_err));
	probe_simple(kf);
	probe_struct_ops(kf, vmlinux.handle);
	probe_cgroup(kf);
	kf.mechanisms = mechanisms_for(kf);
	return kf;
}

const KernelFeatures &kernel_features()
{
	static std::once_flag once;
	static KernelFeatures features;
	static std::optional<Error> error;
	std::call_once(once, [] {
		try {
			features = probe_kernel_features();
		} catch (const Error &e) {
			error = e;
		}
	});
	if (error)
		throw *error;
	return features;
}

void check_plugin_requirements(const Manifest &manifest, const KernelFeatures &features)
{
	for (const auto &id : manifest.requires_features) {
		const Feature *f = features.find(id);
		if (!f) {
			std::string known;
			for (const auto &k : known_features())
				known += (known.empty() ? "" : ", ") + k.id;
			throw Error(ErrorKind::unsupported, "plugin " + manifest.name + " needs feature '" + id +
								    "', which this tcpxi does not know (it knows: " + known +
								    "); a newer tcpxi may");
		}
		if (!f->available)
			throw Error(ErrorKind::unsupported, "plugin " + manifest.name + " needs " + f->id + " (kernel >= " +
								    f->min_kernel + "), which this kernel (" +
								    features.kernel_release + ") lacks");
	}
}

void check_plugin_requirements(const Manifest &manifest)
{
	if (manifest.requires_features.empty())
		return; // no probe, no privileges needed
	check_plugin_requirements(manifest, kernel_features());
}

} // namespace tcpxi
