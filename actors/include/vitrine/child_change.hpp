// child_change: what supervisor_handle::add_child(), remove_child() and
// replace_child() return, i.e. a change of a running supervisor's children
// (OTP's start_child, terminate_child + delete_child, and both in turn) to
// wait on, and its outcome.
//
// Threads: any; copies share one result. The supervisor actor completes it
// once (under a mutex); wait_until() sleeps on a condition variable until
// then. A change that never reaches the supervisor (the runtime shut down
// first, or it shuts down with the change still in its mailbox) completes
// with change_outcome::supervisor_gone. One the supervisor took before a
// stop (or the runtime's shutdown) is carried out before that stop, as OTP
// serves calls in order: an add then completes `done` with its child added
// and stopped by the stop, never run. Cost: one allocation per change; these
// are rare, operator-driven operations, not a hot path.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "vitrine/core/deadline.hpp"
#include "vitrine/detail/process_record.hpp"

namespace vitrine {

namespace detail {
struct supervisor_record;
}

/// How a child change ended.
enum class change_outcome : std::uint8_t {
  pending,          ///< not applied yet
  done,             ///< applied
  name_taken,       ///< add: the name (or a name in the tree) is in use
  unknown_name,     ///< remove/replace: the supervisor has no such child
  supervisor_gone,  ///< the supervisor quit (removed, or the runtime shut
                    ///< down) before it applied the change
};

std::string_view to_string(change_outcome outcome) noexcept;

class read_policy;

namespace detail {
/// The shared result of one change; written once by the supervisor actor.
struct change_result {
  std::mutex mutex;
  std::condition_variable applied;
  change_outcome outcome = change_outcome::pending;
  std::string error;  ///< what went wrong, for outcomes other than done
  /// The child added (or put in place by a replace): one of them is set.
  std::shared_ptr<process_record> process;
  std::shared_ptr<supervisor_record> supervisor;
  /// How the handles made from them read (the supervisor handle's policy).
  const read_policy* reads = nullptr;

  /// Sets the outcome unless one is set already; wakes the waiters.
  void complete(change_outcome how, std::string text = {},
                std::shared_ptr<process_record> p = {},
                std::shared_ptr<supervisor_record> s = {});
};
}  // namespace detail

class process_handle;
class supervisor_handle;

class child_change {
 public:
  using clock = std::chrono::steady_clock;

  child_change() = default;  ///< not sent: outcome() is supervisor_gone
  explicit child_change(std::shared_ptr<detail::change_result> result)
      : result_(std::move(result)) {}

  /// Blocks until the supervisor applied the change (or refused it) or
  /// `deadline` passes; true once an outcome is known. An add or replace
  /// is applied once the new child left `starting` (as runtime::supervise
  /// returns), a remove once the child was stopped (reaped) and forgotten.
  bool wait_until(clock::time_point deadline) const;
  /// wait_until(now + timeout); a timeout of core::longest_wait (about 100
  /// years) or more, duration::max() included, has no deadline.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return wait_until(core::deadline_after(timeout));
  }

  /// The outcome so far (pending until applied).
  change_outcome outcome() const;
  /// Why it was refused ("" when done or pending).
  std::string error() const;
  /// The child an add or replace put in place: a process or a supervisor
  /// (the other handle is empty); both empty for a remove.
  process_handle process() const;
  supervisor_handle supervisor() const;

 private:
  std::shared_ptr<detail::change_result> result_;
};

}  // namespace vitrine
