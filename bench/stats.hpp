// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// Small-sample summaries for the benchmarks: median, quartiles, extremes.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

namespace tcpxi::bench {

struct Summary {
	size_t n = 0;
	double median = 0, q1 = 0, q3 = 0, min = 0, max = 0, mean = 0;

	nlohmann::json to_json() const
	{
		return {{"n", n}, {"median", median}, {"q1", q1}, {"q3", q3}, {"min", min}, {"max", max}, {"mean", mean}};
	}
};

// Quantile by linear interpolation between order statistics (type 7, as R and numpy).
inline double quantile(const std::vector<double> &sorted, double q)
{
	if (sorted.empty())
		return 0;
	double pos = q * double(sorted.size() - 1);
	size_t lo = size_t(std::floor(pos)), hi = size_t(std::ceil(pos));
	return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - double(lo));
}

inline Summary summarize(std::vector<double> values)
{
	Summary s;
	if (values.empty())
		return s;
	std::sort(values.begin(), values.end());
	s.n = values.size();
	s.median = quantile(values, 0.5);
	s.q1 = quantile(values, 0.25);
	s.q3 = quantile(values, 0.75);
	s.min = values.front();
	s.max = values.back();
	double sum = 0;
	for (double v : values)
		sum += v;
	s.mean = sum / double(values.size());
	return s;
}

} // namespace tcpxi::bench
