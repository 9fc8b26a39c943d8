#include "fd_limit.hpp"

#include <algorithm>
#include <vector>

namespace vitrine::cli {
namespace {

/// The runtime's own descriptors: stdio, signalfd, epoll and eventfds, the
/// status file being written, the orphan reaper's reserve, CAF's internals,
/// with room to spare.
constexpr std::size_t runtime_fds = 64;

/// Calls f(process_spec&) for every program of `tree`, depth first, with an
/// explicit stack: no recursion, however deep groups nest.
template <class Spec, class F>
void for_each_program(Spec& tree, F&& f) {
  std::vector<Spec*> pending{&tree};
  while (!pending.empty()) {
    Spec* group = pending.back();
    pending.pop_back();
    for (auto& child : group->children) {
      if (auto* process = std::get_if<process_spec>(&child))
        f(*process);
      else
        pending.push_back(&std::get<supervisor_spec>(child));
    }
  }
}

/// pidfds per running program: the owning actor's, and the I/O thread's
/// watch on it.
constexpr std::size_t pidfds_per_program = 2;

std::size_t fds_of(const process_spec& spec) {
  using kind = os::stdio_target::kind;
  const auto& out = spec.launch.stdout_target;
  const auto& err = spec.launch.stderr_target;
  std::size_t n = pidfds_per_program;
  if (out.mode == kind::capture) n += 2;  // pipe + log file
  if (err.mode == kind::capture)
    n += (out.mode == kind::capture && out.path == err.path) ? 1 : 2;
  if (spec.launch.notify_fd >= 0) n += 1;
  return n;
}

}  // namespace

fd_limit raise_fd_limit() noexcept {
  fd_limit result;
  rlimit now{};
  if (::getrlimit(RLIMIT_NOFILE, &now) != 0) return result;
  result.original_soft = result.soft = now.rlim_cur;
  result.hard = now.rlim_max;
  if (now.rlim_cur < now.rlim_max) {
    rlimit raised{now.rlim_max, now.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) result.soft = now.rlim_max;
  }
  return result;
}

std::size_t estimate_fds(const supervisor_spec& tree) {
  std::size_t n = runtime_fds + run_reserve_fds;
  for_each_program(tree, [&](const process_spec& p) { n += fds_of(p); });
  return n;
}

std::string fd_limit_warning(const fd_limit& limit, std::size_t needed,
                             std::size_t programs) {
  if (limit.soft == RLIM_INFINITY || needed <= limit.soft) return {};
  return "warning: " + std::to_string(programs) + " programs may need up to " +
         std::to_string(needed) +
         " open files (pidfds, capture pipes and log files, readiness "
         "pipes), but the limit is " +
         std::to_string(limit.soft) +
         (limit.soft == limit.hard ? " (the hard limit)" : "") +
         ": starts may fail with 'Too many open files'; raise the hard "
         "limit (ulimit -Hn, LimitNOFILE= in a systemd unit)";
}

void keep_program_fd_limit(supervisor_spec& tree, const fd_limit& limit) {
  if (limit.soft == limit.original_soft) return;
  for_each_program(tree, [&](process_spec& p) {
    auto& limits = p.launch.rlimits;
    const bool own = std::any_of(limits.begin(), limits.end(), [](auto& l) {
      return l.resource == RLIMIT_NOFILE;
    });
    if (!own)
      limits.push_back({RLIMIT_NOFILE, limit.original_soft, limit.hard});
  });
}

}  // namespace vitrine::cli
