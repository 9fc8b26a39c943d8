// The messaging baseline: what vitrine's hybrid reads are measured against.
// Not part of the installed package: link the vitrine::baseline target
// (bench/ and tests/ do).
//
// messaging_reads() is a read_policy (see vitrine/read_policy.hpp): a
// runtime built with runtime_options{.reads = &baseline::messaging_reads()}
// reads every process and supervisor state by asking the owning actor
// (request/response through a scoped_actor made per read) and looks names up
// by asking a directory actor; its actors publish nothing while they live.
//
// blocking_reader keeps one caf::scoped_actor, so each of its reads is
// exactly one request/response round trip (no actor created per read).
//
// Threads: messaging_reads() any. One blocking_reader per thread; it must be
// destroyed before the runtime. Costs: every read and lookup blocks for one
// round trip through CAF's scheduler (~30 us tuned, ~100 us default, see
// docs/results.md). On a hybrid runtime blocking_reader::read() still asks
// the actor: use it to measure the baseline against process_handle::read().
#pragma once

#include <memory>
#include <string_view>

#include "vitrine/core/process_state.hpp"
#include "vitrine/process_handle.hpp"
#include "vitrine/read_policy.hpp"
#include "vitrine/runtime.hpp"

namespace caf {
class actor;
}

namespace vitrine::baseline {

/// The messaging baseline's read policy (a static object).
const read_policy& messaging_reads() noexcept;

/// The actor that owns `process` (invalid once the runtime is gone), for
/// application actors that message it directly, e.g. with
/// (caf::get_atom) -> core::process_state.
caf::actor owner_actor(const process_handle& process);

class blocking_reader {
 public:
  explicit blocking_reader(runtime& rt);
  ~blocking_reader();
  blocking_reader(const blocking_reader&) = delete;
  blocking_reader& operator=(const blocking_reader&) = delete;

  /// The process's current state, asked of its actor.
  core::process_state read(const process_handle& process);
  /// The process named `name`, asked of the directory actor (under
  /// messaging_reads()) or looked up in the registry (hybrid).
  process_handle find(std::string_view name);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitrine::baseline
