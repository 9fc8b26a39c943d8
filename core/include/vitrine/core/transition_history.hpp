// transition_history: the last few state transitions of one process, kept
// by its actor and published beside its state.
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

struct transition {
  std::uint64_t version = 0;
  process_status status = process_status::stopped;
  pid_t pid = 0;
  termination last_exit;
  std::chrono::steady_clock::time_point at{};
  std::uint32_t restart_count = 0;  ///< the state's restart_count
};

/// The last transitions of one process, oldest first.
using transition_history = bounded_history<transition, 8>;

}  // namespace vitrine::core
