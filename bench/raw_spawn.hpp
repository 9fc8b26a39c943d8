// raw_spawn: the floors the end-to-end benchmark compares vitrine with, in
// the same binary: a bare posix_spawn loop and a bare restart loop on real
// `/bin/sleep` processes, with no supervisor around them. Benchmark support
// only; called from the benchmark's thread. Costs: one posix_spawn per
// process (start), one kill + poll + reap + posix_spawn per restart, with
// the same number of long-running children as vitrine's fleet.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace vitrine::bench {

/// Spawns `count` `/bin/sleep 1000000` with posix_spawn from `threads`
/// threads (each its share); returns the seconds until the last spawn
/// returned (glibc's posix_spawn returns once the child has exec'd). The
/// children are killed and reaped before it returns (not timed).
double raw_start_all(std::size_t count, unsigned threads);

/// The restart protocol both loops follow (the raw one here, vitrine's in
/// e2e_bench.cpp), so they pay the same costs: of `n` long-running
/// children, the k-th restart kills child restart_victim(k, n), and the
/// next kill waits restart_settle (not timed), so that the new child has
/// finished starting (on 2 cores a /bin/sleep's start-up competes with
/// whatever runs beside it) and every restart is measured on its own.
inline std::size_t restart_victim(std::size_t k, std::size_t n) {
  return (k * 7) % n;
}
inline constexpr std::chrono::milliseconds restart_settle{20};

/// `children` `/bin/sleep` run; then, per sample, one of them (by
/// restart_victim) gets SIGKILL, its pidfd is polled until readable, it is
/// reaped and a new one posix_spawn'ed in its place; `settle` is waited
/// between samples. Returns each kill -> new child exec'd latency, in
/// microseconds. With children = 1 and no settle, each kill hits the child
/// the previous sample has just spawned (the loop's floor).
std::vector<double> raw_restart_latencies(std::size_t samples,
                                          std::size_t children,
                                          std::chrono::milliseconds settle);

}  // namespace vitrine::bench
