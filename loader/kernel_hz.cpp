// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "kernel_hz.hpp"

#include <sys/utsname.h>
#include <zlib.h>

#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>

namespace tcpxi {

namespace {

// gzopen reads plain files too, so one reader serves /proc/config.gz and /boot/config-*.
unsigned hz_from_config(const std::string &path)
{
	gzFile file = gzopen(path.c_str(), "rb");
	if (!file)
		return 0;
	unsigned hz = 0;
	char line[512];
	while (gzgets(file, line, sizeof(line))) {
		std::string text(line);
		if (text.rfind("CONFIG_HZ=", 0) == 0) {
			hz = std::stoul(text.substr(10));
			break;
		}
	}
	gzclose(file);
	return hz;
}

// The first "jiffies: N" of /proc/timer_list.
long long read_jiffies()
{
	std::ifstream timer_list("/proc/timer_list");
	std::string line;
	while (std::getline(timer_list, line)) {
		auto pos = line.find("jiffies: ");
		if (pos != std::string::npos && line.find("_jiffies") == std::string::npos)
			return std::stoll(line.substr(pos + 9));
	}
	return -1;
}

unsigned hz_from_timer_list()
{
	auto t0 = std::chrono::steady_clock::now();
	long long j0 = read_jiffies();
	if (j0 < 0)
		return 0;
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	long long j1 = read_jiffies();
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	double measured = (j1 - j0) / seconds;
	unsigned best = 0;
	for (unsigned candidate : std::array<unsigned, 4>{100, 250, 300, 1000})
		if (!best || std::fabs(measured - candidate) < std::fabs(measured - best))
			best = candidate;
	return std::fabs(measured - best) < best * 0.2 ? best : 0;
}

} // namespace

unsigned kernel_hz()
{
	static const unsigned hz = [] {
		struct utsname uts {};
		uname(&uts);
		if (unsigned hz = hz_from_config(std::string("/boot/config-") + uts.release))
			return hz;
		if (unsigned hz = hz_from_config("/proc/config.gz"))
			return hz;
		return hz_from_timer_list();
	}();
	return hz;
}

} // namespace tcpxi
