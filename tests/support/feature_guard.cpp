// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#include "feature_guard.hpp"

#include <tcpxi/error.hpp>
#include <tcpxi/features.hpp>

namespace tcpxi::test {

std::string missing_feature(const std::string &feature_id)
{
	const KernelFeatures &kf = kernel_features(); // throws without privileges: a failure
	const Feature *f = kf.find(feature_id);
	if (!f)
		throw Error(ErrorKind::usage, "TCPXI_REQUIRE_FEATURE: tcpxi knows no feature '" + feature_id + "'");
	if (f->available)
		return "";
	return "needs " + f->id + " (kernel >= " + f->min_kernel + "), which this kernel (" + kf.kernel_release +
	       ") lacks" + (f->note.empty() ? "" : ": " + f->note);
}

} // namespace tcpxi::test
