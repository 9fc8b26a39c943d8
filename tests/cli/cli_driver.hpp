// Helpers for the CLI tests: a temporary directory, running the built
// `vitrine` binary (VITRINE_CLI_PATH) with its output captured in a file,
// and /proc look-ups (descendants, signal masks) to prove nothing is left.
// Test-only; one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/files.hpp"

namespace vitrine::test {

/// A started `vitrine` with stdout and stderr going to one file, stdin
/// from /dev/null, every signal at its default disposition and none
/// blocked (whatever the test runner inherited). XDG_RUNTIME_DIR points
/// at a directory private to the test process (default state directories
/// of concurrent test binaries never collide).
class cli_process {
 public:
  /// With a `shell_prefix` ("ulimit -s 1024"), vitrine is exec'd by
  /// `/bin/sh -c 'PREFIX; exec vitrine ARGS'`: pid() is still vitrine's.
  cli_process(const std::vector<std::string>& args,
              const std::string& output_path,
              const std::string& shell_prefix = "");
  ~cli_process();  // SIGKILLs and reaps it if still running
  cli_process(const cli_process&) = delete;
  cli_process& operator=(const cli_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  /// The exit code once it exits within `limit` (-signal if killed by one),
  /// nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds limit);

 private:
  pid_t pid_ = -1;
};

struct cli_result {
  int code = -1;
  std::string output;  ///< stdout and stderr interleaved
};

/// Runs `vitrine args...` to completion (at most 30 s), after
/// `shell_prefix` as cli_process does ("cd DIR": in DIR).
cli_result run_cli(const std::vector<std::string>& args,
                   const std::string& shell_prefix = "");

/// True once no process `pid` exists (kill(pid, 0) fails with ESRCH).
bool process_gone(pid_t pid);

/// A process as seen once: its pid and its start time (field 22 of
/// /proc/PID/stat), so that a check long after is not fooled by the pid's
/// reuse (pids wrap at /proc/sys/kernel/pid_max, 32,768 here; a test of
/// 6,600 programs on a busy machine found one of its pids alive again).
struct seen_process {
  pid_t pid = 0;
  unsigned long long started = 0;
};
/// Each of `pids` as it is now (started 0 for one already gone).
std::vector<seen_process> seen_now(const std::vector<pid_t>& pids);
/// True once that process has left: no process has its pid, or another
/// process does (a zombie of it is not gone).
bool process_left(const seen_process& p);

/// Waits until the file at `path` contains `needle` at least `times` times;
/// false when `limit` passes first, or when `alive` (if > 0) has exited.
bool wait_for_text(const std::string& path, const std::string& needle,
                   std::chrono::milliseconds limit, pid_t alive = 0,
                   std::size_t times = 1);

/// How often `needle` occurs in `text`.
std::size_t count_of(const std::string& text, const std::string& needle);

/// Numbers N of the lines "PREFIX N" in `text`, in order.
std::vector<int> numbers_after(const std::string& text,
                               const std::string& prefix);

/// Whether `numbers` is not empty and each is one more than the last.
bool consecutive(const std::vector<int>& numbers);

/// Every process below `pid` (children, grandchildren...), zombies
/// included, from one scan of /proc.
std::vector<pid_t> descendants_of(pid_t pid);

/// descendants_of(pid) whose name (/proc/PID/comm) is `name`: the programs
/// of a test, without helper processes the runtime may start.
std::vector<pid_t> descendants_named(pid_t pid, const std::string& name);

/// The value of `field` ("SigBlk", "SigIgn") in /proc/PID/status; "" when
/// the process or the field does not exist.
std::string proc_status_field(pid_t pid, const std::string& field);

/// Soft and hard value of a /proc/PID/limits line ("Max open files"), as
/// written there ("1024", "unlimited"); empty when absent.
std::pair<std::string, std::string> proc_limit(pid_t pid,
                                               const std::string& name);

/// A configuration of `count` programs p0, p1, ... running `sleep 1000`,
/// each with the `extra` lines ("startsecs_ms = 0\n").
std::string sleep_programs(std::size_t count, const std::string& extra = "");

/// The stress divisor: VITRINE_STRESS_SCALE (10 under ASan, see
/// scripts/test.sh), 1 when unset.
unsigned stress_scale();

}  // namespace vitrine::test
