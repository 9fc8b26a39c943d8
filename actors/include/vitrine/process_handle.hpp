// process_handle: how a host application reads and commands one supervised
// process.
//
// Threads: any thread may use a handle, and copies of it, concurrently.
// Reads (read(), wait_*()) go through the runtime's read_policy: under the
// default (hybrid) they never message the owning actor: read() is a guarded
// pointer load (no lock, no allocation), and the waits sleep on a futex
// until the actor publishes. Under the messaging baseline read() is a
// request/response round trip to the actor.
// Commands (start/stop/restart/signal/kill) message the owning actor
// asynchronously and return at once. start/stop/restart return a
// process_command to wait on: `h.restart().wait_for_status(running, t)`
// returns once the restart was applied and the process runs again (a new
// pid). A handle stays valid after the runtime is gone: reads return the
// last state, commands return false (an empty process_command); once its
// shutdown began, start(), restart() and signal() do (stop and kill are
// still carried out).
//
// An empty handle (default-constructed, or runtime::find() of an unknown
// name) is false in a boolean context; read(), history() and the waits throw
// vitrine::empty_handle_error on it, name() is "" and messages_handled() 0.
// Any number of state_views may be alive at once on one thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "vitrine/command_ticket.hpp"
#include "vitrine/core/deadline.hpp"
#include "vitrine/detail/process_record.hpp"
#include "vitrine/read_policy.hpp"
#include "vitrine/state_view.hpp"

namespace caf {
class actor;
}

namespace vitrine {

/// Thrown by the reads of an empty process_handle or supervisor_handle.
class empty_handle_error : public std::logic_error {
 public:
  empty_handle_error()
      : std::logic_error(
            "vitrine: read through an empty process_handle or "
            "supervisor_handle (runtime::find() of an unknown name?)") {}
};

class process_handle;

/// What start(), stop(), restart() and kill() return: whether the command
/// was sent and its ticket. Waiting on it waits on the published state (the
/// same futex as process_handle::wait_until) for a state in which the
/// command is applied: `applied_command >= ticket()`.
using process_command = command_ticket<process_handle, core::process_state>;

class process_handle {
 public:
  using clock = std::chrono::steady_clock;

  /// An empty handle. Handles to processes come from the runtime
  /// (supervise(), find(), processes(), for_each()), from a node_handle
  /// (find(), processes(), supervise()) and from child_change::process().
  process_handle() = default;

  explicit operator bool() const noexcept { return record_ != nullptr; }
  /// An opaque token of this process's identity: the same for every handle
  /// of it, never the same as another process's (one that reuses the name
  /// after a reload included) while the token is kept. Compare tokens with
  /// std::owner_less. Costs a reference count.
  std::weak_ptr<const void> identity() const noexcept { return record_; }
  /// The process's name; "" for an empty handle.
  std::string_view name() const noexcept {
    return record_ ? std::string_view{*record_->name} : std::string_view{};
  }
  /// How this handle reads (its runtime's policy); hybrid for an empty
  /// handle.
  const read_policy& reads() const noexcept {
    return reads_ ? *reads_ : read_policy::hybrid();
  }

  // -- reading ----------------------------------------------------------------

  /// The current state. Throws empty_handle_error on an empty handle.
  /// Hybrid: one test of a pointer the handle keeps, then the cell's
  /// guarded load (no load of the policy, no reference count).
  state_view<core::process_state> read() const {
    const auto* cell = published_;
    if (cell == nullptr) [[unlikely]]
      cell = &cell_to_read(record_.get(), reads_);
    return state_view<core::process_state>{*cell};
  }

  /// The last transitions, oldest first (as published: under the messaging
  /// baseline, only once the actor quit). A second cell beside read()'s,
  /// published just before it: a history read after a state holds that
  /// state's transition; one read before a state may already hold a newer
  /// one (the two are not read as one).
  /// Throws empty_handle_error on an empty handle.
  /// Iterable: `for (const auto& t : *h.history())`.
  state_view<core::transition_history> history() const {
    if (record_ == nullptr) [[unlikely]]
      throw_empty();
    return state_view<core::transition_history>{record_->history};
  }

  /// Blocks until `pred(state)` holds or `deadline` passes; returns
  /// whether it holds. Once the owning actor has quit (the runtime shut
  /// down, the process was removed) it returns at once: `pred` of the last
  /// state. Throws empty_handle_error on an empty handle.
  template <class Predicate>
  bool wait_until(Predicate pred, clock::time_point deadline) const {
    if (record_ == nullptr) [[unlikely]]
      throw_empty();
    return reads_->wait_until(*record_, pred, deadline);
  }
  /// Blocks until the process is in `status`, or has passed through it
  /// since the call: a transition to it newer than the state read at the
  /// call, found in history() when a wake-up finds another state (a status
  /// held briefly, `exited` before an at-once restart, is replaced before
  /// the waiter runs). history() keeps the last 8 transitions: a status
  /// passed through more than 8 transitions before the waiter looks is
  /// missed. (Under the messaging baseline the history is read only once
  /// the actor quit: states alone count before.)
  bool wait_for_status(core::process_status status,
                       clock::time_point deadline) const {
    const std::uint64_t since = read()->version;
    return wait_until(
        [&](const core::process_state& s) {
          if (s.status == status) return true;
          for (const auto& t : *history())
            if (t.version > since && t.status == status) return true;
          return false;
        },
        deadline);
  }
  /// Waits for a state newer than `version`.
  bool wait_for_version_after(std::uint64_t version,
                              clock::time_point deadline) const {
    return wait_until(
        [version](const core::process_state& s) { return s.version > version; },
        deadline);
  }

  /// True once the process left its tree: its supervisor removed it (a
  /// child_change removal, or a `vitrine run` reload that removed or
  /// replaced it), or, for a handle from a node_handle, it left the node.
  /// Its actor stops it and quits, whatever commands come meanwhile: it
  /// will not run again, and its handles keep reading its last states.
  /// Set before that stop begins: a thread that has read one of that
  /// stop's states then sees removed() true, so a wait woken by its
  /// `stopped` can tell a removal from any other stop. False for an empty
  /// handle. One atomic load.
  bool removed() const noexcept {
    return record_ && record_->removed.load(std::memory_order_acquire);
  }

  /// Messages the owning actor has handled so far (tests, metrics).
  std::uint64_t messages_handled() const noexcept {
    return record_ ? record_->messages_handled.load(std::memory_order_relaxed)
                   : 0;
  }

  // -- commands (asynchronous; false once the runtime is gone) ----------------
  // start(), restart() and signal() are false (nothing sent) from the
  // beginning of the runtime's shutdown (begin_shutdown(), shutdown()).

  /// Start (from stopped/exited/failed; from backoff after its delay, as
  /// the restart it waits for: restart_count goes up by one), stop, or
  /// stop-then-start. Each gets a ticket that the actor publishes
  /// as applied_command once it applied it; a manual start or restart does
  /// not count toward any restart intensity and resets the restart limit.
  /// While a start of its supervisor has yet to reach it (a one_for_all or
  /// rest_for_one restart; or a start of every child in spec order: the
  /// tree's first start, a start command to the supervisor), start() and
  /// restart() are carried out by that start in its turn (a restart()
  /// stops a running process at once, the start comes in its turn), and
  /// stop() (or kill()) makes that start skip it: it stays stopped. Such a
  /// start() or restart() is applied (its ticket published) by that start,
  /// or when the supervisor calls it off; a stop() or kill() at once. A
  /// restart() during its own turn in a start of its supervisor makes the
  /// next child wait for the new run.
  process_command start() const;
  process_command stop() const;
  process_command restart() const;
  /// Stops at once: as stop(), but with SIGKILL instead of stop_signal
  /// (to the program's group, and its cgroup where it has one), so the
  /// exit is `signal 9`; during a stop already under way, SIGKILL without
  /// waiting for stop_timeout. The process ends `stopped`, not restarted:
  /// the exit is no crash, and a supervisor counts no restart for it.
  process_command kill() const;
  /// Asks the owning actor to send `sig` to the child's process group (the
  /// program and what it started in its group; not to processes that left
  /// it with setsid). True once the request is sent; false for an empty
  /// handle, a runtime that is gone, or `sig` outside 1..NSIG-1. The actor
  /// drops the request when no child is alive then (stopped, exited,
  /// backoff): watch the state, not this result, to learn the effect.
  /// On a handle found through a node_handle the mirror forwards it;
  /// node_handle::signal() waits for the node's answer instead.
  bool signal(int sig) const;
  /// Sends every later state to `subscriber` as (state_changed, state).
  /// A set: subscribing an actor twice sends each state once, and one
  /// unsubscribe() ends its subscription.
  bool subscribe(const caf::actor& subscriber) const;
  bool unsubscribe(const caf::actor& subscriber) const;

 private:
  friend class runtime;
  friend struct detail::runtime_access;
  process_handle(std::shared_ptr<detail::process_record> record,
                 const read_policy& reads) noexcept
      : record_(std::move(record)),
        reads_(&reads),
        published_(record_ && reads.reads_published() ? &record_->state
                                                      : nullptr) {}

  [[noreturn]] static void throw_empty();
  // Out of line: throws on an empty handle (record null), else
  // reads->cell_to_read(*record). Static, so that a handle's address does
  // not escape a read and its fields can stay in registers.
  static const core::publication_cell<core::process_state>& cell_to_read(
      const detail::process_record* record, const read_policy* reads);
  process_command send_command(int kind) const;

  std::shared_ptr<detail::process_record> record_;
  const read_policy* reads_ = nullptr;
  // The record's state cell when the policy reads what actors publish, so
  // that read() tests one pointer; else null (asking policies, empty).
  const core::publication_cell<core::process_state>* published_ = nullptr;
};

}  // namespace vitrine
