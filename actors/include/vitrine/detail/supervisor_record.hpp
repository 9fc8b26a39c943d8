// supervisor_record: the control block shared by a supervisor actor (the
// writer) and every handle to that supervisor (the readers). Internal to
// vitrine; reached through supervisor_handle.
//
// Threads: `state` is written by the owning actor only and read from
// anywhere; the command port is set and cleared by the runtime.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "vitrine/core/publication_cell.hpp"
#include "vitrine/core/supervisor_state.hpp"

namespace vitrine::detail {

class command_port;  // the CAF side: how to message the supervisor actor

struct supervisor_record {
  explicit supervisor_record(std::shared_ptr<const std::string> name)
      : state(std::in_place, initial_state(name)), name(std::move(name)) {}
  core::publication_cell<core::supervisor_state> state;
  const std::shared_ptr<const std::string> name;
  /// Set while the actor lives; empty after the runtime shut down.
  std::atomic<std::shared_ptr<command_port>> port;
  /// Set (release) by the parent before it asks the actor to shut down for
  /// a removal, so that every state published afterwards (the last stop)
  /// is read with it set (acquire).
  std::atomic<bool> removed{false};

 private:
  static core::supervisor_state initial_state(
      std::shared_ptr<const std::string> n) {
    core::supervisor_state s;
    s.name_storage = std::move(n);
    return s;
  }
};

}  // namespace vitrine::detail
