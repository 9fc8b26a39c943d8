// deadline: the time point a wait of a given length ends at, without
// overflow. The waits that take a timeout (process_command::wait_for(),
// child_change::wait_for(), ...) pass it through deadline_after(), so that
// duration::max() or hours::max() means "no deadline", not a sum that
// wrapped into the past and a wait that fails at once.
//
// Threads: any; pure but for one read of the steady clock. Cost: that read
// and a comparison.
#pragma once

#include <chrono>

namespace vitrine::core {

/// Waits this long or longer have no deadline (about 100 years: the
/// steady clock's epoch, boot, plus this, fits its 292 years).
inline constexpr std::chrono::hours longest_wait{24 * 365 * 100};

/// steady_clock::now() + timeout, or the clock's last time point for a
/// timeout of longest_wait or more. Any duration type: the comparison is
/// made before the conversion to the clock's nanoseconds could overflow.
template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(
    std::chrono::duration<Rep, Period> timeout) noexcept {
  using clock = std::chrono::steady_clock;
  if (std::chrono::duration<double>{timeout} >=
      std::chrono::duration<double>{longest_wait})
    return clock::time_point::max();
  return clock::now() + std::chrono::duration_cast<clock::duration>(timeout);
}

/// `timeout`, at most longest_wait: for the APIs (CAF's request timeouts)
/// that add a timeout to the clock themselves.
template <class Rep, class Period>
std::chrono::milliseconds at_most_longest_wait(
    std::chrono::duration<Rep, Period> timeout) noexcept {
  if (std::chrono::duration<double>{timeout} >=
      std::chrono::duration<double>{longest_wait})
    return longest_wait;
  return std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
}

}  // namespace vitrine::core
