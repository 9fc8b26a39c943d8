// command_ticket: what a handle's commands return (process_command for a
// process_handle, supervisor_command for a supervisor_handle): whether the
// command was sent, and its ticket to wait on.
//
// Threads: any; cheap to copy. Waiting costs what the handle's wait_until
// costs (under the hybrid policy a futex sleep until the owner publishes).
// A command is applied once the owner published a state whose
// `applied_command` is at least the ticket: for a process, once it carried
// the command out (a held start or restart, once the start in its turn
// did); for a supervisor, once it began the start or stop sequence (a stop
// of a supervisor already `stopped` or `failed`, which keeps that status,
// once that sequence is done).
#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

#include "vitrine/core/deadline.hpp"

namespace vitrine {

/// A sent command's ticket on the handle that sent it. `State` is what
/// the handle's read() shows (its `applied_command` and `status` fields).
template <class Handle, class State>
class command_ticket {
 public:
  using clock = std::chrono::steady_clock;
  using status_type = decltype(State::status);

  command_ticket() = default;  ///< not sent (the runtime is gone)
  command_ticket(Handle handle, std::uint64_t ticket) noexcept
      : handle_(std::move(handle)), ticket_(ticket) {}

  /// True if the command was sent.
  explicit operator bool() const noexcept { return ticket_ != 0; }
  std::uint64_t ticket() const noexcept { return ticket_; }

  /// Blocks until the command was applied or `deadline` passes; false then
  /// (or if it was not sent).
  bool wait_until(clock::time_point deadline) const {
    return wait_until([](const State&) { return true; }, deadline);
  }
  /// wait_until(now + timeout), as child_change::wait_for().
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return wait_until(core::deadline_after(timeout));
  }
  /// Blocks until a state published once the command was applied
  /// satisfies `pred`.
  template <class Predicate>
  bool wait_until(Predicate pred, clock::time_point deadline) const {
    if (!*this) return false;
    return handle_.wait_until(
        [&](const State& s) { return s.applied_command >= ticket_ && pred(s); },
        deadline);
  }
  /// Blocks until a state published once the command was applied has
  /// `status`. States only: unlike the handle's wait_for_status(), a
  /// status held briefly after the command (replaced before the waiter
  /// runs) is not found in the history, whose entries do not say which
  /// command they followed.
  bool wait_for_status(status_type status, clock::time_point deadline) const {
    return wait_until([status](const State& s) { return s.status == status; },
                      deadline);
  }

 private:
  Handle handle_;
  std::uint64_t ticket_ = 0;
};

}  // namespace vitrine
