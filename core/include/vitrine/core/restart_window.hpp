// restart_window: OTP restart intensity. More than `intensity` restarts
// within `period` means the supervisor gives up.
//
// A value type owned by one supervisor actor; not thread-safe. Memory is
// bounded by intensity + 1 time points.
#pragma once

#include <chrono>
#include <deque>

namespace vitrine::core {

class restart_window {
 public:
  using clock = std::chrono::steady_clock;

  restart_window(unsigned intensity, clock::duration period)
      : intensity_(intensity), period_(period) {}

  /// Records a restart at `now`; returns false when it exceeds the
  /// intensity (the supervisor must fail instead of restarting).
  bool admit(clock::time_point now) {
    while (!recent_.empty() && now - recent_.front() >= period_)
      recent_.pop_front();
    recent_.push_back(now);
    if (recent_.size() > intensity_ + 1u) recent_.pop_front();
    return recent_.size() <= intensity_;
  }

  void clear() noexcept { recent_.clear(); }
  std::size_t recent() const noexcept { return recent_.size(); }

 private:
  unsigned intensity_;
  clock::duration period_;
  std::deque<clock::time_point> recent_;
};

}  // namespace vitrine::core
