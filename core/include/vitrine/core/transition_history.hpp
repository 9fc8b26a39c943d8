// transition_history: the last few states one process published, kept by
// its actor and published beside its state. Every publish is an entry with
// its own version (versions have no gaps), so a command applied without a
// change of status (a second stop while stopping) repeats the status;
// `vitrine run --plain` prints such an entry only if what it shows changed.
//
// A fixed-capacity value (no allocation beyond the snapshot itself); written
// by the owning actor only, read from any thread through a publication cell.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "vitrine/core/bounded_history.hpp"
#include "vitrine/core/process_state.hpp"

namespace vitrine::core {

/// One published state, as the history keeps it: 32 bytes (a history
/// snapshot is 8 of them, one per process), the status in last_exit's
/// padding.
struct transition {
  std::uint64_t version = 0;
  std::chrono::steady_clock::time_point at{};
  pid_t pid = 0;
  std::uint32_t restart_count = 0;  ///< the state's restart_count
  [[no_unique_address]] termination last_exit;
  process_status status = process_status::stopped;
};
static_assert(sizeof(transition) == 32, "a history entry packs into 32 bytes");

/// The last transitions of one process, oldest first.
using transition_history = bounded_history<transition, 8>;

/// The entry `s` makes in a history, published at `at`.
inline transition transition_of(const process_state& s,
                                std::chrono::steady_clock::time_point at) {
  return {.version = s.version,
          .at = at,
          .pid = s.pid,
          .restart_count = s.restart_count,
          .last_exit = s.last_exit,
          .status = s.status};
}

}  // namespace vitrine::core
