#include "vitrine/core/detail/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

namespace vitrine::core::detail {

void futex_wait_until(std::uint32_t& word, std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept {
  // steady_clock is CLOCK_MONOTONIC in libstdc++ on Linux.
  const auto since_epoch = deadline.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
  timespec at{};
  at.tv_sec = static_cast<time_t>(secs.count());
  at.tv_nsec =
      static_cast<long>(std::chrono::nanoseconds(since_epoch - secs).count());
  if (at.tv_sec < 0) return;
  // FUTEX_WAIT_BITSET takes an absolute time on CLOCK_MONOTONIC.
  ::syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, expected, &at, nullptr,
            FUTEX_BITSET_MATCH_ANY);
}

void futex_wake_all(std::uint32_t& word) noexcept {
  ::syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace vitrine::core::detail
