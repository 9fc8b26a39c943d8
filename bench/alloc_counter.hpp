// alloc_counter: counts the heap allocations of each thread, by replacing the
// global operator new/delete of the benchmark binary that links it.
//
// Link the object library `vitrine_bench_alloc_counter` into a benchmark
// binary (exactly one definition of the replaced operators may exist per
// program). Every operator new/delete form, including those called from
// shared libraries (liburcu, libbenchmark), then goes through malloc/free and
// bumps counters of the calling thread.
//
// Threads: any. Each thread counts only its own calls; thread_allocations()
// reads the caller's counters. Allocations made by another thread (liburcu's
// call_rcu thread frees our nodes there) are not seen by the benchmark thread.
// Cost: two thread-local increments per allocation, one per free.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

namespace vitrine::bench {

/// What the calling thread has allocated and freed since it started.
struct alloc_totals {
  std::uint64_t allocs = 0;  ///< operator new calls
  std::uint64_t bytes = 0;   ///< bytes requested from operator new
  std::uint64_t frees = 0;   ///< operator delete calls (non-null)
};

/// The calling thread's counters. Never allocates.
alloc_totals thread_allocations() noexcept;

/// Adds `allocs_per_op`, `bytes_per_op` and `frees_per_op` (this thread's
/// calls between `before` and now, per iteration) to `state`'s counters.
/// With several benchmark threads the sums over threads are divided by the
/// total iteration count, which is again a per-operation figure.
inline void report_allocations(benchmark::State& state,
                               const alloc_totals& before) {
  const alloc_totals after = thread_allocations();
  const auto per_op = [](std::uint64_t n) {
    return benchmark::Counter(static_cast<double>(n),
                              benchmark::Counter::kAvgIterations);
  };
  state.counters["allocs_per_op"] = per_op(after.allocs - before.allocs);
  state.counters["bytes_per_op"] = per_op(after.bytes - before.bytes);
  state.counters["frees_per_op"] = per_op(after.frees - before.frees);
}

}  // namespace vitrine::bench
