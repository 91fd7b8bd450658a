// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace tcpxi {

// Undo steps of a change, run in reverse when it is destroyed before commit(): every
// change tcpxi makes to the kernel is either whole or undone.
class Rollback {
public:
	Rollback() = default;
	Rollback(const Rollback &) = delete;
	Rollback &operator=(const Rollback &) = delete;
	~Rollback()
	{
		if (committed_)
			return;
		for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
			try {
				(*it)();
			} catch (...) {
				// Keep undoing the rest; the error that started the rollback is
				// what the user sees.
			}
		}
	}
	void add(std::function<void()> step) { steps_.push_back(std::move(step)); }
	void commit() { committed_ = true; }

private:
	std::vector<std::function<void()>> steps_;
	bool committed_ = false;
};

} // namespace tcpxi
