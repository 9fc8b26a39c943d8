// fd_limit: `vitrine run` raises its open-file limit (RLIMIT_NOFILE) to the
// hard limit, estimates what the configuration needs, and gives every
// program the limit vitrine itself was started with (docs/cli.md,
// "Limits").
//
// Threads: raise_fd_limit() changes a process-wide limit: call it from the
// main thread before the runtime starts; the rest are pure functions on a
// spec (any thread). Cost: two syscalls; a walk of the tree without
// recursion.
#pragma once

#include <sys/resource.h>

#include <cstddef>
#include <string>

#include "vitrine/process_spec.hpp"

namespace vitrine::cli {

struct fd_limit {
  rlim_t original_soft = 0;  ///< the soft limit vitrine was started with
  rlim_t soft = 0;           ///< the soft limit now
  rlim_t hard = 0;
};

/// Sets the soft RLIMIT_NOFILE to the hard one; returns the limits before
/// and after (soft == original_soft when it could not be raised).
fd_limit raise_fd_limit() noexcept;

/// Descriptors the run's reserve (os::fd_reserve) holds for a reload and
/// a control request: what they need at most, with room.
inline constexpr std::size_t run_reserve_fds = 32;

/// Descriptors the runtime may hold at once for `tree`, every program
/// running: two pidfds each, a pipe per captured stream, one log file per
/// capture path, a readiness pipe where notify_fd is set, plus a fixed
/// allowance for the runtime itself (signalfd, epoll, eventfds, stdio) and
/// the run's reserve (run_reserve_fds).
std::size_t estimate_fds(const supervisor_spec& tree);

/// "" when `limit.soft` covers `needed`, else a warning that says how to
/// raise it.
std::string fd_limit_warning(const fd_limit& limit, std::size_t needed,
                             std::size_t programs);

/// Gives every program of `tree` that sets no RLIMIT_NOFILE of its own the
/// limit vitrine was started with, so a raised limit does not leak into
/// programs that assume 1024 (select(2) users).
void keep_program_fd_limit(supervisor_spec& tree, const fd_limit& limit);

}  // namespace vitrine::cli
