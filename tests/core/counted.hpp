// A snapshot payload for tests: every field derives from `version`, so a
// torn or freed read is detected, and live instances are counted.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace vitrine::test {

struct counted {
  static inline std::atomic<std::int64_t> live{0};

  explicit counted(std::uint64_t v) : version(v), twice(2 * v), inverse(~v) {
    for (std::size_t i = 0; i < tail.size(); ++i) tail[i] = v + i;
    live.fetch_add(1, std::memory_order_relaxed);
  }
  counted(const counted&) = delete;
  ~counted() {
    version = twice = inverse = 0xdeadbeefdeadbeef;  // poison
    live.fetch_sub(1, std::memory_order_relaxed);
  }

  bool consistent() const noexcept {
    if (twice != 2 * version || inverse != ~version) return false;
    for (std::size_t i = 0; i < tail.size(); ++i)
      if (tail[i] != version + i) return false;
    return true;
  }

  std::uint64_t version, twice, inverse;
  std::array<std::uint64_t, 5> tail;
};

}  // namespace vitrine::test
