// backoff: exponential restart delays with jitter, reset after stable uptime.
//
// A value type owned by one process actor; not thread-safe. Pure arithmetic,
// no allocation: next() costs a multiply and one random draw. It keeps only
// the failure count and the random state (8 bytes); the policy stays in
// the spec it came from and is passed to each next().
#pragma once

#include <chrono>
#include <cstdint>

namespace vitrine::core {

struct backoff_policy {
  using duration = std::chrono::milliseconds;
  duration min{100};             ///< first delay
  duration max{30'000};          ///< cap
  double multiplier = 2.0;       ///< growth per consecutive failure, >= 1
  double jitter = 0.1;           ///< +- fraction of the delay, in [0, 1]
  duration reset_after{60'000};  ///< uptime that forgives past failures

  bool operator==(const backoff_policy&) const = default;
};

class backoff {
 public:
  using duration = backoff_policy::duration;

  explicit backoff(std::uint64_t seed = 0x5eed);

  /// The delay before the next restart, in [0, policy.max]; each call
  /// grows the next one. Fields outside their range (validate() refuses
  /// them in a process_spec) read as the nearest valid value: a multiplier
  /// below 1 or NaN as 1, a jitter below 0 or NaN as 0, above 1 as 1.
  duration next(const backoff_policy& policy);

  /// Forgets past failures (called after an uptime of reset_after).
  void reset() noexcept { attempt_ = 0; }

  unsigned attempt() const noexcept { return attempt_; }

 private:
  unsigned attempt_ = 0;
  /// A std::minstd_rand's state (its last output, in [1, 2^31 - 2]),
  /// kept in 32 bits: 8 bytes a backoff instead of 16.
  std::uint32_t random_state_;
};

}  // namespace vitrine::core
