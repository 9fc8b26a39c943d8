// supervisor_handle: reads the published state of one supervisor (status,
// restarts, the reason of its last failure, its last transitions) and
// commands it.
//
// Threads: any. Reads go through the runtime's read_policy: under the
// default (hybrid) they are lock-free guarded loads and the waits sleep on a
// futex until the supervisor publishes (see publication_cell.hpp); they
// never message the supervisor. Commands message its actor asynchronously
// and return a supervisor_command to wait on; the child changes
// (add_child, remove_child, replace_child) return a child_change. A handle
// outlives the runtime: reads return the last state, commands return an
// empty command.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "vitrine/child_change.hpp"
#include "vitrine/command_ticket.hpp"
#include "vitrine/core/supervisor_state.hpp"
#include "vitrine/detail/supervisor_record.hpp"
#include "vitrine/process_spec.hpp"
#include "vitrine/read_policy.hpp"
#include "vitrine/state_view.hpp"

namespace caf {
class actor;
}

namespace vitrine {

class supervisor_handle;

/// What supervisor_handle::start(), stop() and set_intensity() return:
/// wait on it to see the command applied, e.g.
/// `sup.start().wait_for_status(running, deadline)` returns once the
/// restarted tree runs again.
using supervisor_command =
    command_ticket<supervisor_handle, core::supervisor_state>;

class supervisor_handle {
 public:
  using clock = std::chrono::steady_clock;

  /// An empty handle. Handles to supervisors come from
  /// runtime::supervise(), root(), find_supervisor() and
  /// for_each_supervisor().
  supervisor_handle() = default;

  explicit operator bool() const noexcept { return record_ != nullptr; }
  /// An opaque token of this supervisor's identity (as
  /// process_handle::identity()).
  std::weak_ptr<const void> identity() const noexcept { return record_; }
  /// The supervisor's name; "" for an empty handle.
  std::string_view name() const noexcept {
    return record_ ? std::string_view{*record_->name} : std::string_view{};
  }

  /// True once its parent removed it (a child_change removal, or a
  /// `vitrine run` reload that removed or replaced its group), with its
  /// tree; as process_handle::removed(). False for an empty handle.
  bool removed() const noexcept {
    return record_ && record_->removed.load(std::memory_order_acquire);
  }

  /// The current state. Throws empty_handle_error on an empty handle.
  state_view<core::supervisor_state> read() const {
    if (!record_) throw_empty();
    return reads_->read(*record_);
  }

  /// Blocks until `pred(state)` holds or `deadline` passes (hybrid: a futex
  /// sleep; never messages the supervisor); returns whether it holds. Once
  /// the supervisor's actor has quit it returns at once: `pred` of the last
  /// state. Throws empty_handle_error on an empty handle.
  template <class Predicate>
  bool wait_until(Predicate pred, clock::time_point deadline) const {
    if (!record_) throw_empty();
    return reads_->wait_until(*record_, pred, deadline);
  }
  /// Blocks until the supervisor is in `status`, or has passed through it
  /// since the call: a transition to it newer than the state read at the
  /// call, found in the state's history when a wake-up finds another
  /// status (`failed`, then restarted at once by its parent, is replaced
  /// before the waiter runs). The history keeps the last 16 transitions.
  bool wait_for_status(core::supervisor_status status,
                       clock::time_point deadline) const {
    const std::uint64_t since = read()->version;
    return wait_until(
        [&](const core::supervisor_state& s) {
          if (s.status == status) return true;
          if (!s.history) return false;
          for (const auto& t : *s.history)
            if (t.version > since && t.status == status) return true;
          return false;
        },
        deadline);
  }

  // -- commands (asynchronous; empty once the runtime is gone) ----------------
  // start() is empty (nothing sent) from the beginning of the runtime's
  // shutdown (begin_shutdown(), shutdown()).

  /// Starts every child in spec order, each once the previous one runs,
  /// with a fresh restart window: how a failed (or stopped) supervisor is
  /// brought back. On a running supervisor it starts the children that are
  /// not running. Not counted as a restart. While a start of its parent
  /// has yet to reach it (a one_for_all or rest_for_one restart, or a
  /// start of every child in order), start() is carried out by that start
  /// in spec order, and applied (its ticket published) then, or when the
  /// parent calls that start off.
  supervisor_command start() const;
  /// Stops every child in reverse order; the supervisor stays (stopped).
  /// While a start of its parent has yet to reach it (a one_for_all or
  /// rest_for_one restart, or a start of every child in order), that
  /// start skips it.
  supervisor_command stop() const;
  /// Sets its restart intensity: from now on more than `intensity`
  /// restarts within `period` fail it. The restarts already in its window
  /// count toward the new limit. How `vitrine run` applies a reload that
  /// changes a limit it derived from the number of programs. Throws
  /// spec_error, sending nothing, for values validate() would refuse.
  supervisor_command set_intensity(unsigned intensity,
                                   supervisor_spec::duration period) const;

  // -- changing the children (OTP's start_child / terminate_child +
  // delete_child). Each is queued behind the supervisor's running operation
  // (a start, stop or restart sequence) and never interleaves with one; a
  // stop ordered meanwhile waits for it, though not for a child it started
  // to leave `starting` (its startsecs): the change then completes and the
  // stop stops that child. Each validates the spec first and throws
  // spec_error, sending nothing, for an invalid one. ------------------------

  /// Appends a child at the end of the spec order. A running supervisor
  /// starts it (if autostart) before the change completes; a stopped or
  /// failed one (or any once the runtime's shutdown began) adds it
  /// stopped, a tree with its children listed, stopped, and starts it
  /// with its next start(). name_taken if a child of
  /// this supervisor has that name, a process name in it is supervised or
  /// a supervisor name in it is taken (anywhere in the runtime).
  child_change add_child(process_spec spec) const;
  child_change add_child(supervisor_spec spec) const;
  /// Stops the child named `name` as stop() would (a nested supervisor:
  /// its whole tree, in reverse order), then forgets it: its processes
  /// leave runtime::find() and the registry, their status-table slots are
  /// freed, and the names may be used again. Handles to them keep reading
  /// the last state; their commands return empty. unknown_name if there
  /// is no such child.
  child_change remove_child(std::string name) const;
  /// Replaces the child named spec.name (a process or a nested supervisor;
  /// the new spec may be either) in place: the old one is removed as
  /// remove_child() does, then the new one is put at the same position and
  /// started if the supervisor runs. unknown_name if there is no such
  /// child. If a process or supervisor name of the new tree is still
  /// taken elsewhere once the old child is gone, the old child stays
  /// removed and the change ends with name_taken.
  child_change replace_child(process_spec spec) const;
  child_change replace_child(supervisor_spec spec) const;

  /// Sends every later state to `subscriber` as (supervisor_changed_atom,
  /// core::supervisor_state); see messages.hpp. A set, as
  /// process_handle::subscribe().
  bool subscribe(const caf::actor& subscriber) const;
  bool unsubscribe(const caf::actor& subscriber) const;

 private:
  friend class runtime;
  friend struct detail::runtime_access;
  supervisor_handle(std::shared_ptr<detail::supervisor_record> r,
                    const read_policy& reads) noexcept
      : record_(std::move(r)), reads_(&reads) {}

  supervisor_command send_command(int kind) const;
  /// Calls send(owner, ticket) with a fresh ticket; defined where used.
  template <class Send>
  supervisor_command send_ticketed(Send send) const;
  [[noreturn]] static void throw_empty();
  child_change send_change(int kind, std::string name,
                           std::unique_ptr<child_spec> spec) const;

  std::shared_ptr<detail::supervisor_record> record_;
  const read_policy* reads_ = nullptr;
};

}  // namespace vitrine
