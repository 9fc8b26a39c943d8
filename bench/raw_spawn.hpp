// raw_spawn: the floors the end-to-end benchmark compares vitrine with, in
// the same binary: a bare posix_spawn loop and a bare restart loop on real
// `/bin/sleep` processes, with no supervisor around them. Benchmark support
// only; called from the benchmark's thread. Costs: one posix_spawn per
// process (start), one kill + poll + reap + posix_spawn per restart.
#pragma once

#include <cstddef>
#include <vector>

namespace vitrine::bench {

/// Spawns `count` `/bin/sleep 1000000` with posix_spawn from `threads`
/// threads (each its share); returns the seconds until the last spawn
/// returned (glibc's posix_spawn returns once the child has exec'd). The
/// children are killed and reaped before it returns (not timed).
double raw_start_all(std::size_t count, unsigned threads);

/// One child at a time: SIGKILL it, poll its pidfd until readable, reap it,
/// posix_spawn the next; returns each kill -> new child exec'd latency, in
/// microseconds (`samples` of them).
std::vector<double> raw_restart_latencies(std::size_t samples);

}  // namespace vitrine::bench
