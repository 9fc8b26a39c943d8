// process_record: the control block shared by a process actor (the writer)
// and every handle to that process (the readers). Internal to vitrine;
// reached through process_handle.
//
// Threads: `state` and `history` are written by the owning actor only and
// read from anywhere; `messages_handled` is written by the actor only;
// the command port is set and cleared by the runtime.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "vitrine/core/process_state.hpp"
#include "vitrine/core/publication_cell.hpp"
#include "vitrine/core/transition_history.hpp"

namespace vitrine::detail {

class command_port;  // the CAF side: how to message the owning actor

struct process_record {
  /// Whether the owning actor publishes its states as they change (every
  /// read policy but an asking one: see read_policy::reads_published()).
  enum class publishing : bool { as_it_runs, only_last_state };

  /// `as_it_runs`: the state cell starts with the process's initial state
  /// (readers may load it before the actor's first publish). Otherwise no
  /// reader loads the state until the actor leaves its last one, so the
  /// cell starts with the shared default (no allocation) and the actor
  /// keeps the initial state itself. The history starts empty and shared
  /// either way.
  process_record(std::shared_ptr<const std::string> process_name,
                 publishing how)
      : state(how == publishing::as_it_runs
                  ? core::publication_cell<core::process_state>(
                        initial_state(process_name))
                  : core::publication_cell<core::process_state>()),
        name(std::move(process_name)) {}

  /// Publishes `next`, made at `at`, after the history with its entry: a
  /// reader that sees (or waited for) the state then finds it in the
  /// history too (the state's release store orders the history's before
  /// it). The next history is the published one plus the entry: the
  /// writer keeps no copy of its own. The owning actor only.
  void publish(core::process_state next,
               std::chrono::steady_clock::time_point at) {
    core::transition_history next_history = history.current_unsafe();
    next_history.push(core::transition_of(next, at));
    history.publish(std::move(next_history));
    state.publish(std::move(next));
  }

  /// What a process named `n` is before its actor publishes anything.
  static core::process_state initial_state(
      std::shared_ptr<const std::string> n) {
    core::process_state s;
    s.name_storage = std::move(n);
    return s;
  }

  // Read on every read(): first, so it starts the cache line.
  core::publication_cell<core::process_state> state;
  core::publication_cell<core::transition_history> history;
  const std::shared_ptr<const std::string> name;
  /// Set by the runtime while the actor lives; empty after shutdown.
  std::atomic<std::shared_ptr<command_port>> port;
  /// Messages the owning actor has handled; proves reads do not message it.
  std::atomic<std::uint64_t> messages_handled{0};
  /// Set (release) by the parent before it asks the actor to shut down for
  /// a removal (a mirror: when the process left the node), so that every
  /// state published afterwards is read with it set (acquire).
  std::atomic<bool> removed{false};
};

}  // namespace vitrine::detail
