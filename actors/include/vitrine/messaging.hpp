// blocking_reader: the messaging baseline's reader for host threads. It keeps
// one caf::scoped_actor, so each read is exactly one request/response round
// trip to the owning actor (no actor creation per read).
//
// Threads: one blocking_reader per thread; it must be destroyed before the
// runtime. Costs: read() and find() each block for one round trip through
// CAF's scheduler (~30 us tuned, ~100 us default, see docs/results.md).
// In hybrid mode read() still asks the actor: use it to measure the baseline
// against a hybrid runtime's own process_handle::read().
#pragma once

#include <memory>
#include <string_view>

#include "vitrine/process_handle.hpp"
#include "vitrine/runtime.hpp"

namespace caf {
class actor;
}

namespace vitrine {

/// The actor that owns `process` (invalid once the runtime is gone), for
/// application actors that message it directly, e.g. with
/// (caf::get_atom) -> core::process_state in the messaging baseline.
caf::actor owner_actor(const process_handle& process);

class blocking_reader {
 public:
  explicit blocking_reader(runtime& rt);
  ~blocking_reader();
  blocking_reader(const blocking_reader&) = delete;
  blocking_reader& operator=(const blocking_reader&) = delete;

  /// The process's current state, asked of its actor.
  core::process_state read(const process_handle& process);
  /// The process named `name`, asked of the directory actor (messaging
  /// mode) or looked up in the registry (hybrid mode).
  process_handle find(std::string_view name);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitrine
