#include "vitrine/core/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vitrine::core {

backoff::backoff(std::uint64_t seed)
    : random_(static_cast<std::uint_fast32_t>(seed)) {}

namespace {

/// `ms` rounded, as a duration in [0, cap]: NaN and negatives give 0, and
/// values a duration cannot hold give `cap` (no overflow in the cast).
backoff::duration bounded(double ms, backoff::duration cap) {
  cap = std::max(cap, backoff::duration{0});
  if (!(ms > 0)) return backoff::duration{0};
  if (ms >= static_cast<double>(cap.count())) return cap;
  return backoff::duration{
      static_cast<backoff::duration::rep>(std::llround(ms))};
}

}  // namespace

backoff::duration backoff::next(const backoff_policy& policy) {
  // Fields outside their documented range read as the nearest valid value
  // (NaN as the neutral one), so a policy nobody validated cannot make a
  // negative or overflowing delay.
  const double growth = policy.multiplier >= 1.0 ? policy.multiplier : 1.0;
  const double jitter =
      policy.jitter > 0.0 ? std::min(policy.jitter, 1.0) : 0.0;
  const double cap = static_cast<double>(policy.max.count());
  const double base = std::min(
      static_cast<double>(policy.min.count()) * std::pow(growth, attempt_),
      cap);
  if (attempt_ < std::numeric_limits<unsigned>::max()) ++attempt_;
  double delay = base;
  if (jitter > 0 && base > 0) {
    std::uniform_real_distribution<double> spread(-jitter, jitter);
    delay = base * (1.0 + spread(random_));
  }
  return bounded(delay, policy.max);
}

}  // namespace vitrine::core
