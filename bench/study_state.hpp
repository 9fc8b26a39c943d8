// The state the core study's experiments publish (study_core.cpp,
// study_ipi.cpp): 64 bytes, as vitrine_bench_core's, with a count of live
// instances per reclaimer. Benchmark support only.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>

#include "vitrine/core/publication_cell.hpp"

namespace vitrine::bench::study {

/// 64 bytes of payload; counts the live instances per reclaimer (Tag).
template <class Tag>
struct counted_state {
  static inline std::atomic<long> live{0};
  std::uint64_t words[8];
  explicit counted_state(std::uint64_t v) noexcept {
    for (std::uint64_t i = 0; i < 8; ++i) words[i] = v + i;
    live.fetch_add(1, std::memory_order_relaxed);
  }
  counted_state(const counted_state& o) noexcept {
    std::copy(std::begin(o.words), std::end(o.words), words);
    live.fetch_add(1, std::memory_order_relaxed);
  }
  ~counted_state() { live.fetch_sub(1, std::memory_order_relaxed); }
  std::uint64_t sum() const noexcept {
    std::uint64_t s = 0;
    for (auto w : words) s += w;
    return s;
  }
};

template <class R>
using cell_of = vitrine::core::publication_cell<counted_state<R>, R>;

}  // namespace vitrine::bench::study
