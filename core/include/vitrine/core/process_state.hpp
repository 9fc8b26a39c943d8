// process_state: the immutable snapshot of one supervised process, as its
// owning actor publishes it and any thread reads it.
//
// Threads: a process_state is never modified after publication; readers on
// any thread may read every field of the snapshot they hold. Cost: a
// published snapshot is one allocation of 104 bytes on x86-64 (this 88-byte
// state behind the reclaimer's 16-byte node header); copying the name and the
// spawn error text shares them (a reference count bump on the writer's side),
// so a publish allocates nothing else.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "vitrine/core/termination.hpp"

namespace vitrine::core {

/// Where a supervised process is in its life cycle (see docs/design.md for
/// the transition diagram).
enum class process_status : std::uint8_t {
  stopped,   ///< not running, and not asked to run
  starting,  ///< spawned; not yet up for startsecs nor signalled readiness
  running,   ///< up and considered healthy
  backoff,   ///< exited or failed to spawn; a restart is scheduled
  stopping,  ///< stop signal sent; waiting for the exit or the kill timeout
  exited,    ///< exited and will not be restarted (by its policy, or its
             ///< supervisor is stopped)
  failed,    ///< gave up: too many quick failures, or a fatal spawn error
  /// Only in a controller's mirror of a remote node (remote.hpp): the node
  /// is unreachable; the other fields are the last ones it reported.
  unknown,
};

std::string_view to_string(process_status status) noexcept;

struct process_state {
  using clock = std::chrono::steady_clock;

  // Ordered so that status fills last_exit's padding: 88 bytes.
  std::uint64_t version = 0;  ///< +1 with every publish by the owner
  /// The running child, 0 when there is none. The owner reaps an exited
  /// child before it publishes the state that says so: for a moment the
  /// current state names a pid that is gone, which the kernel may give to
  /// another process (an outside tester saw 67 in 14.5 M reads of a
  /// crash loop). To signal the child, use process_handle::signal(),
  /// which goes through its pidfd, not kill(pid).
  pid_t pid = 0;
  /// Restarts carried out: counted as the process spawns out of a backoff
  /// (after an exit whose restart was wanted, or a failed spawn it
  /// retries), whether that spawn succeeds or fails; the supervisor counts
  /// the same restarts. A restart cancelled during the backoff (a stop, a
  /// supervisor that refused it or stopped) is not counted; starts and
  /// restarts by hand never are.
  std::uint32_t restart_count = 0;
  [[no_unique_address]] termination last_exit;
  process_status status = process_status::stopped;
  int spawn_errno = 0;             ///< errno of the last failed spawn, else 0
  clock::time_point started_at{};  ///< last successful spawn
  clock::time_point ended_at{};    ///< last exit observed
  /// The ticket of the last command from a handle its actor applied (see
  /// process_handle::start()); 0 before any.
  std::uint64_t applied_command = 0;
  std::shared_ptr<const std::string> name_storage;
  std::shared_ptr<const std::string> spawn_error_storage;

  std::string_view name() const noexcept {
    return name_storage ? std::string_view{*name_storage} : std::string_view{};
  }
  /// The last spawn failure, naming the step and the program, or "".
  std::string_view spawn_error() const noexcept {
    return spawn_error_storage ? std::string_view{*spawn_error_storage}
                               : std::string_view{};
  }
  bool has_child() const noexcept { return pid != 0; }
};
static_assert(sizeof(void*) != 8 || sizeof(process_state) == 88,
              "a state packs into 88 bytes on 64-bit targets");

}  // namespace vitrine::core
