#include "vitrine/core/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace vitrine::core {

namespace {

/// A std::minstd_rand that remembers its last output, which is all of its
/// state: an engine seeded with it continues the same sequence.
class resumed_minstd {
 public:
  using result_type = std::minstd_rand::result_type;
  explicit resumed_minstd(std::uint32_t state) : engine_(state), last_(state) {}
  static constexpr result_type min() { return std::minstd_rand::min(); }
  static constexpr result_type max() { return std::minstd_rand::max(); }
  result_type operator()() { return last_ = engine_(); }
  std::uint32_t state() const noexcept {
    return static_cast<std::uint32_t>(last_);
  }

 private:
  std::minstd_rand engine_;
  result_type last_;
};

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

backoff::backoff(std::uint64_t seed)
    // The state std::minstd_rand seeds itself with ([rand.eng.lcong]).
    : random_state_(static_cast<std::uint32_t>(
          static_cast<std::uint_fast32_t>(seed) % std::minstd_rand::modulus)) {
  if (random_state_ == 0) random_state_ = 1;
}

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
    resumed_minstd random{random_state_};
    delay = base * (1.0 + spread(random));
    random_state_ = random.state();
  }
  return bounded(delay, policy.max);
}

}  // namespace vitrine::core
