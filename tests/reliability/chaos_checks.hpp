// What the chaos run's reader threads check on every read
// (chaos_test.cpp): per-process monotonic versions, consistent states, and
// restart counts that match the exits the history records. Each reader
// thread owns its reader_log; violations is shared and thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "vitrine/core/process_state.hpp"
#include "vitrine/process_handle.hpp"

namespace vitrine::test::chaos {

using core::process_status;

/// A child exists exactly in starting, running and stopping.
inline bool has_child_status(process_status s) {
  return s == process_status::starting || s == process_status::running ||
         s == process_status::stopping;
}

struct observed {
  bool any = false;
  std::uint64_t version = 0;
  process_status status = process_status::stopped;
  pid_t pid = 0;
  std::uint32_t restarts = 0;
  int spawn_errno = 0;
  std::uint64_t applied_command = 0;  ///< a command publishes even alone
};

/// What one reader thread saw. Each reader owns one; merged afterwards.
struct reader_log {
  explicit reader_log(std::size_t processes)
      : last(processes),
        history_seen_up_to(processes, 0),
        counted_restarts(processes) {}

  std::vector<observed> last;
  std::vector<std::uint64_t> history_seen_up_to;
  /// Per process: versions of the transitions out of a backoff seen in the
  /// history that counted a restart (restart_count + 1).
  std::vector<std::vector<std::uint64_t>> counted_restarts;
  std::vector<pid_t> pids;
  std::uint64_t reads = 0;
  std::uint64_t pid_changes = 0;
  std::uint64_t exact_checks = 0;  // state pairs fully covered by history
  std::vector<std::uint64_t> supervisor_versions;
};

class violations {
 public:
  void add(std::string text) {
    count_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock{mutex_};
    if (first_.size() < 20) first_.push_back(std::move(text));
  }
  std::uint64_t count() const { return count_.load(); }
  std::vector<std::string> first() const {
    std::lock_guard lock{mutex_};
    return first_;
  }

 private:
  std::atomic<std::uint64_t> count_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> first_;
};

/// One pass of a reader over process i. The checks, and why they are sound
/// on any machine load:
///
/// * Versions are monotonic per reader (one writer, acquire loads).
/// * A state is consistent: a pid exactly in starting/running/stopping.
/// * restart_count never decreases, and grows by at most one per publish.
/// * "Every exit is recorded": restart_count counts exactly the exits that
///   the process actor turned into a restart, i.e. the transitions from a
///   state with a child (pid != 0) into `backoff` (a spawn failure also
///   goes to backoff, but from a state without a child, and does not
///   count). Stops (stopping -> stopped) and exits that end in exited or
///   failed are not restarts. So a backoff state without spawn_errno must
///   come with a higher count than any earlier state; two different pids
///   are always separated by at least one more version (the exit); and
///   whenever the history (8 entries, published before the state) still
///   covers every transition between two states this reader saw, the
///   count's growth equals the number of exit -> backoff transitions in
///   between, exactly. The history never shows a pid replaced by another
///   without an exit, nor a child stopped without `stopping` first.
/// This attributes restarts by what the owning actor recorded, not by
/// guessing which pid changes the controller or a strategy caused, so
/// nothing depends on timing.
void check_process(const process_handle& h, std::size_t i, reader_log& log,
                   violations& bad);

}  // namespace vitrine::test::chaos
