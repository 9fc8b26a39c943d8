// packed_spec: a process_spec as its process actor keeps it for its whole
// life. What the actor reads at exits and stops stays inline; what it needs
// only to spawn (argv, environment, cwd, umask, rlimits, stdio, notify fd,
// death signal) and rarely (expected exit codes, log rotation) is packed
// into one heap block of exactly its size. Internal to the actors/ library.
//
// Why: a process_spec is 464 bytes inline plus a heap block per vector and
// per long string; one actor a process keeps it for good. Packed, a
// `sleep 1000000` keeps 96 bytes inline and one block of about 90.
//
// Threads: a plain value owned by one actor (no sharing, no atomics).
// Cost: one allocation to pack; launch_options() rebuilds the options for
// each spawn (one allocation per vector and per string past the small-
// string buffer), next to the spawn's own ~100 us.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "vitrine/core/backoff.hpp"
#include "vitrine/os/launch.hpp"
#include "vitrine/process_spec.hpp"

namespace vitrine::detail {

class packed_spec {
  /// The block, in this order: log rotation, expected exit codes, then the
  /// launch options (argv, inherit_env, env, cwd, umask, rlimits, stdin,
  /// stdout, stderr, death signal, notify fd). Counts and lengths are
  /// 32-bit, fields unaligned (read with memcpy), an optional one a flag
  /// byte and the value only when present: packed_spec.cpp writes and
  /// reads it.
  // First, so that the last field (restart) leaves 7 bytes of tail
  // padding: an actor that holds a packed_spec [[no_unique_address]] puts
  // its small members there.
  std::unique_ptr<std::byte[]> block_;

 public:
  using duration = process_spec::duration;

  /// Keeps everything of `spec` but its name (the process record holds
  /// it), its restart_limit (the actor's restart window holds it) and
  /// launch.cgroup / launch.cgroup_killed (the runtime's cgroup tree places
  /// a program, not its spec).
  explicit packed_spec(const process_spec& spec);

  /// The spec's launch options, rebuilt (cgroup "" and not killed).
  [[nodiscard]] os::launch_options launch_options() const;
  /// argv[0] as the spec gave it.
  [[nodiscard]] std::string_view program() const noexcept;
  /// Whether `code` is among the spec's expected_exit_codes.
  [[nodiscard]] bool expects_exit_code(int code) const noexcept;
  [[nodiscard]] log_rotation logs() const noexcept;

  // Read at every exit, start and stop: inline.
  core::backoff_policy backoff;
  duration startsecs;
  duration stop_timeout;
  unsigned startretries;
  int stop_signal;
  restart_policy restart;

 private:
  /// Where argv's count is (past the log rotation and exit codes).
  const std::byte* launch_options_begin() const noexcept;
};

}  // namespace vitrine::detail
