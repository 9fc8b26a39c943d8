#include "vitrine/core/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace vitrine::core {

backoff::backoff(const backoff_policy& policy, std::uint64_t seed)
    : policy_(policy), random_(static_cast<std::uint_fast32_t>(seed)) {}

backoff::duration backoff::next() {
  const double base = static_cast<double>(policy_.min.count()) *
                      std::pow(policy_.multiplier, attempt_);
  const double capped =
      std::min(base, static_cast<double>(policy_.max.count()));
  ++attempt_;
  double delay = capped;
  if (policy_.jitter > 0 && capped > 0) {
    std::uniform_real_distribution<double> spread(-policy_.jitter,
                                                  policy_.jitter);
    delay = capped * (1.0 + spread(random_));
  }
  delay = std::clamp(delay, 0.0, static_cast<double>(policy_.max.count()));
  return duration{static_cast<duration::rep>(std::llround(delay))};
}

}  // namespace vitrine::core
