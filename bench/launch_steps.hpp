// launch_steps: the `e2e/launch/*` rows, one launch of `/bin/sleep` timed
// until it has exec'd: glibc's posix_spawn, then os::launch adding one of
// vitrine's per-launch costs at a time (the program's cgroup, the
// guardian). Benchmark support only; register from main() before running.
// Costs: 200 spawns and reaps per row, one child alive at a time.
#pragma once

namespace vitrine::bench {

/// Registers the rows with Google Benchmark.
void register_launch_steps();

}  // namespace vitrine::bench
