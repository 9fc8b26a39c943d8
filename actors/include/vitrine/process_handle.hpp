// process_handle: how a host application reads and commands one supervised
// process.
//
// Threads: any thread may use a handle, and copies of it, concurrently.
// Reading (read(), wait_*()) never messages the owning actor in hybrid mode:
// read() is a guarded pointer load (no lock, no allocation), and the waits
// sleep on a futex until the actor publishes. In messaging mode read() is a
// request/response round trip to the actor (the baseline).
// Commands (start/stop/restart/signal) message the owning actor
// asynchronously and return at once; wait on the published state to see
// their effect. A handle stays valid after the runtime is gone: reads return
// the last state (in both modes), commands return false.
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

#include "vitrine/detail/process_record.hpp"

namespace caf {
class actor;
}

namespace vitrine {

/// Thrown by the reads of an empty process_handle.
class empty_handle_error : public std::logic_error {
 public:
  empty_handle_error()
      : std::logic_error(
            "vitrine: read through an empty process_handle "
            "(runtime::find() of an unknown name?)") {}
};

/// A state read through a handle: a guarded snapshot (hybrid) or a copy
/// received from the actor (messaging). Short-lived, one thread.
class state_view {
  using state_cell = core::publication_cell<core::process_state>;

 public:
  const core::process_state& operator*() const noexcept { return *value_; }
  const core::process_state* operator->() const noexcept { return value_; }

  explicit state_view(const detail::process_record& record) noexcept
      : value_(&record.state.read_with(guard_)) {}
  explicit state_view(core::process_state copy) noexcept
      : copy_(std::move(copy)), value_(&*copy_) {}
  state_view(const state_view&) = delete;
  state_view& operator=(const state_view&) = delete;

 private:
  state_cell::reclaimer_type::guard guard_;  // unused for a copy
  std::optional<core::process_state> copy_;
  const core::process_state* value_;
};

class process_handle {
 public:
  using clock = std::chrono::steady_clock;

  process_handle() = default;
  explicit process_handle(std::shared_ptr<detail::process_record> record)
      : record_(std::move(record)) {}

  explicit operator bool() const noexcept { return record_ != nullptr; }
  /// The process's name; "" for an empty handle.
  std::string_view name() const noexcept {
    return record_ ? std::string_view{*record_->name} : std::string_view{};
  }
  /// The read mode; hybrid for an empty handle.
  read_mode mode() const noexcept {
    return record_ ? record_->mode : read_mode::hybrid;
  }

  // -- reading ----------------------------------------------------------------

  /// The current state. Throws empty_handle_error on an empty handle.
  state_view read() const {
    if (record_ == nullptr) [[unlikely]]
      throw_empty();
    if (record_->mode == read_mode::hybrid) [[likely]]
      return state_view{*record_};
    return state_view{ask_state()};
  }

  /// The last transitions, oldest first (hybrid mode; empty in messaging).
  /// Throws empty_handle_error on an empty handle.
  core::publication_cell<core::transition_history>::snapshot history() const {
    if (record_ == nullptr) [[unlikely]]
      throw_empty();
    return record_->history.read();
  }

  /// Blocks until `pred(state)` holds or `deadline` passes. Throws
  /// empty_handle_error on an empty handle.
  template <class Predicate>
  bool wait_until(Predicate pred, clock::time_point deadline) const {
    if (record_ == nullptr) [[unlikely]]
      throw_empty();
    if (record_->mode == read_mode::hybrid)
      return record_->state.wait_until(pred, deadline);
    for (;;) {  // baseline: poll the actor
      if (pred(*read())) return true;
      if (clock::now() >= deadline) return false;
      poll_pause();
    }
  }
  bool wait_for_status(core::process_status status,
                       clock::time_point deadline) const {
    return wait_until(
        [status](const core::process_state& s) { return s.status == status; },
        deadline);
  }
  /// Waits for a state newer than `version`.
  bool wait_for_version_after(std::uint64_t version,
                              clock::time_point deadline) const {
    return wait_until(
        [version](const core::process_state& s) { return s.version > version; },
        deadline);
  }

  /// Messages the owning actor has handled so far (tests, metrics).
  std::uint64_t messages_handled() const noexcept {
    return record_ ? record_->messages_handled.load(std::memory_order_relaxed)
                   : 0;
  }

  // -- commands (asynchronous; false once the runtime is gone) ----------------

  bool start() const;
  bool stop() const;
  bool restart() const;
  bool signal(int sig) const;
  /// Sends every later state to `subscriber` as (state_changed, state).
  bool subscribe(const caf::actor& subscriber) const;
  bool unsubscribe(const caf::actor& subscriber) const;

  const std::shared_ptr<detail::process_record>& record() const noexcept {
    return record_;
  }

 private:
  core::process_state ask_state() const;
  static void poll_pause();
  [[noreturn]] static void throw_empty();

  std::shared_ptr<detail::process_record> record_;
};

}  // namespace vitrine
