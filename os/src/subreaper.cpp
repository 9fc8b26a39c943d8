#include "vitrine/os/subreaper.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>

#include "vitrine/os/process_scan.hpp"

namespace vitrine::os {

bool become_subreaper() noexcept {
  return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

bool is_subreaper() noexcept {
  int flag = 0;
  return ::prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0) == 0 && flag != 0;
}

namespace {

struct adoption_state {
  std::mutex mutex;
  int scopes = 0;
  bool clear_at_end = false;  ///< the first scope found the attribute clear
};

adoption_state& adoption() {
  static adoption_state state;
  return state;
}

}  // namespace

subreaper_scope::subreaper_scope() noexcept {
  auto& a = adoption();
  std::lock_guard lock(a.mutex);
  if (a.scopes == 0) {
    const bool was = is_subreaper();
    if (!become_subreaper()) return;
    a.clear_at_end = !was;
  }
  ++a.scopes;
  active_ = true;
}

subreaper_scope::~subreaper_scope() {
  if (!active_) return;
  auto& a = adoption();
  std::lock_guard lock(a.mutex);
  if (--a.scopes == 0 && a.clear_at_end)
    ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

std::size_t reap_orphans(const std::function<bool(pid_t)>& should_reap) {
  std::size_t reaped = 0;
  for (const auto& child : children_of(::getpid())) {
    if (!is_zombie(child) || !should_reap(child.pid)) continue;
    siginfo_t info{};
    // WNOHANG on this pid only: never blocks, never takes another child.
    if (::waitid(P_PID, static_cast<id_t>(child.pid), &info,
                 WEXITED | WNOHANG) == 0 &&
        info.si_pid == child.pid) {
      ++reaped;
    }
  }
  return reaped;
}

}  // namespace vitrine::os
