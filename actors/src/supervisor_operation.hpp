// supervisor_operation: the steps a supervisor actor runs one after
// another (a start, stop or restart sequence, a change of its children),
// and how a stop cancels them. Internal to supervisor_actor.cpp; owned and
// used by that one actor only (cancel_forwarder runs on whichever thread
// requests the stop it is registered with). Cost: a start operation holds
// a std::stop_source (one allocation) and one stop_callback per link.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <vector>

namespace vitrine::detail {

/// One step of an operation.
struct step {
  enum class kind : std::uint8_t {
    start,           ///< start child `index`, wait for its start's reply
    start_parallel,  ///< start every child at once, wait for all
    stop,            ///< stop child `index`, wait until it is reaped
    shutdown,        ///< stop and quit child `index`
    wait_until,      ///< wait until `until` (a restarted child's backoff)
    remove,          ///< stop and quit child `index`, then forget its tree
    invoke,          ///< run `action`; false ends the operation there
  };
  kind what;
  std::size_t index = 0;
  std::chrono::steady_clock::time_point until{};
  std::function<bool()> action{};
  /// A start of this supervisor as a whole (not a restart after a child's
  /// exit): process children begin fresh restart-limit windows, as OTP's
  /// restarted supervisor starts its children anew.
  bool fresh = false;
  /// A start that, once its operation is cancelled (issued or not), stops
  /// the child instead: a child added while starts are cancelled (the
  /// runtime's shutdown began) is only stopped, so that a tree lists its
  /// children, stopped, as under a stopped parent.
  bool stop_if_cancelled = false;
};

/// A restart's wait for the backoff of the child that exited: its starts
/// from index `first_start` on wait until `until`; `exited` is left in
/// its backoff (not stopped).
struct restart_delay {
  std::size_t exited;
  std::size_t first_start;
  std::chrono::steady_clock::time_point until;
};

/// Requests a stop on `target` when the stop_token it is registered with
/// sees one (a parent's cancelled start cancels the child's start), then
/// calls `wake` (on that thread): the actor that runs the operation is
/// told, so that a step it waits for (a child's startsecs, a backoff)
/// does not hold the cancelled operation.
struct cancel_forwarder {
  std::stop_source target;
  std::function<void()> wake;
  void operator()() noexcept {
    target.request_stop();
    if (wake) wake();
  }
};

/// A sequence of steps run one after another. `begin` (run when the
/// operation reaches the front of the queue) fills in the steps; `done` runs
/// after the last one, or with false when a stop cancelled the operation.
struct operation {
  bool is_stop = false;
  /// Not cancelled by a stop, which then runs after it: the child changes
  /// from handles (OTP's calls, which a supervisor handles one at a time).
  bool survives_stop = false;
  bool aborted = false;  ///< an invoke step ended it early
  /// A restart: the first child it restarts (else none), and the delays
  /// it waits for, so that a report that supersedes it can take it over.
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t restarts_from = none;
  std::vector<restart_delay> delays{};
  std::function<void(std::vector<step>&)> begin;
  std::function<void(bool completed)> done;
  std::vector<step> steps{};
  std::size_t next = 0;
  bool begun = false;
  /// Stopped when the operation is cancelled; the starts it sends carry its
  /// token, so a child that has not handled its start yet skips it.
  std::stop_source cancel{};
  /// Forward other cancellations to `cancel`: the runtime's shutdown, and
  /// for a start ordered by the parent, the parent's.
  std::vector<std::unique_ptr<std::stop_callback<cancel_forwarder>>>
      cancel_links{};

  void cancel_with(const std::stop_token& other,
                   std::function<void()> wake = {}) {
    if (other.stop_possible())
      cancel_links.push_back(
          std::make_unique<std::stop_callback<cancel_forwarder>>(
              other, cancel_forwarder{cancel, std::move(wake)}));
  }
};

}  // namespace vitrine::detail
