#include "vitrine/os/reaper.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "vitrine/os/fd_reserve.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

namespace {

std::shared_mutex& scope_mutex() {
  static std::shared_mutex m;
  return m;
}

struct owned_set {
  std::mutex mutex;
  /// (pid, registrations), sorted by pid: 8 bytes an owned child (a hash
  /// map's node and bucket took about 40 with the allocator's overhead).
  /// An insert or erase moves the entries after it: a few KB at most.
  std::vector<std::pair<pid_t, int>> counts;

  /// The entry of `pid`, or where it goes.
  std::vector<std::pair<pid_t, int>>::iterator position(pid_t pid) noexcept {
    return std::lower_bound(
        counts.begin(), counts.end(), pid,
        [](const std::pair<pid_t, int>& e, pid_t p) { return e.first < p; });
  }
  bool holds(std::vector<std::pair<pid_t, int>>::iterator at,
             pid_t pid) const noexcept {
    return at != counts.end() && at->first == pid;
  }
};

owned_set& owned() {
  static owned_set s;
  return s;
}

core::termination status_from(const siginfo_t& info) {
  core::termination t;
  t.value = info.si_status;
  t.how = info.si_code == CLD_EXITED ? core::termination::kind::exited
                                     : core::termination::kind::signaled;
  t.core_dumped = info.si_code == CLD_DUMPED;  // else CLD_KILLED
  return t;
}

// -- the process-wide orphan reaper ------------------------------------------

std::atomic<int> wake_write_fd{-1};  // (1) written before the handler
std::atomic<std::size_t> reaped_count{0};
struct sigaction previous_action {};  // written before install, then read

void on_sigchld(int sig, siginfo_t* info, void* context) {
  const int saved = errno;
  const int fd = wake_write_fd.load(std::memory_order_acquire);  // pairs (1)
  if (fd >= 0) {
    char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);
  }
  errno = saved;
  if (previous_action.sa_flags & SA_SIGINFO) {
    if (previous_action.sa_sigaction)
      previous_action.sa_sigaction(sig, info, context);
  } else if (previous_action.sa_handler != SIG_DFL &&
             previous_action.sa_handler != SIG_IGN) {
    previous_action.sa_handler(sig);
  }
}

struct reaper_state {
  std::mutex mutex;  // guards users, thread, fds
  int users = 0;
  bool handler_installed = false;
  unique_fd read_end, write_end;
  std::thread thread;
  std::atomic<bool> stopping{false};
  /// Room for a scan of our children (a directory and a file open at
  /// once), held while the reaper runs. Where the programs took every
  /// other descriptor, a scan on another thread took one that a stop had
  /// just given back, and the start after it failed with EMFILE; or the
  /// scan failed, and an orphan stayed a zombie until the next SIGCHLD.
  std::mutex room_mutex;  // guards room's presence, not its use
  std::optional<fd_reserve> room;

  void run() {
    char buffer[64];
    for (;;) {
      pollfd p{read_end.get(), POLLIN, 0};
      int n = ::poll(&p, 1, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;
      // Coalesce: drain what is queued, then one scan for all of it.
      while (::read(read_end.get(), buffer, sizeof buffer) > 0) {
      }
      if (stopping.load(std::memory_order_acquire)) return;
      reaped_count.fetch_add(orphan_reaper::reap_now(),
                             std::memory_order_relaxed);
    }
  }
};

reaper_state& reaper() {
  static reaper_state s;
  return s;
}

/// Descriptors a scan of our children holds at once: a task directory and
/// a `children` file (or /proc and a `stat` file without it).
constexpr std::size_t scan_fds = 2;

/// The reaper's reserve lent for one scan, if it has one. Callers hold an
/// orphan_reaper reference, so the reserve outlives the use.
std::optional<fd_reserve::use> scan_room() {
  auto& r = reaper();
  std::lock_guard lock(r.room_mutex);
  if (!r.room) return std::nullopt;
  return std::optional<fd_reserve::use>{std::in_place, *r.room};
}

}  // namespace

// -- owned children
// -------------------------------------------------------------

owned_child_scope::owned_child_scope() : lock_(scope_mutex()) {}
owned_child_scope::~owned_child_scope() = default;

void register_owned_child(pid_t pid) {
  owned_set& set = owned();
  std::lock_guard lock(set.mutex);
  auto at = set.position(pid);
  if (set.holds(at, pid))
    ++at->second;
  else
    set.counts.insert(at, {pid, 1});
}

void release_owned_child(pid_t pid) noexcept {
  owned_set& set = owned();
  std::lock_guard lock(set.mutex);
  auto at = set.position(pid);
  if (set.holds(at, pid) && --at->second <= 0) set.counts.erase(at);
}

bool is_owned_child(pid_t pid) {
  owned_set& set = owned();
  std::lock_guard lock(set.mutex);
  return set.holds(set.position(pid), pid);
}

namespace {
std::optional<core::termination> reap_with(pid_t pid, int pidfd,
                                           int options) noexcept {
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | options);
  } while (rc != 0 && errno == EINTR);
  core::termination status;
  if (rc == 0) {
    if (info.si_pid == 0) return std::nullopt;  // still running
    status = status_from(info);
  } else {
    status.how = core::termination::kind::unknown;  // ECHILD: reaped elsewhere
  }
  release_owned_child(pid);
  return status;
}
}  // namespace

std::optional<core::termination> reap_child(pid_t pid, int pidfd) noexcept {
  return reap_with(pid, pidfd, WNOHANG);
}

core::termination reap_child_blocking(pid_t pid, int pidfd) noexcept {
  return *reap_with(pid, pidfd, 0);
}

std::vector<pid_t> own_children() {
  if (kernel_lists_children()) return child_pids(::getpid());
  std::vector<pid_t> result;
  for (const auto& c : children_of(::getpid())) result.push_back(c.pid);
  return result;
}

namespace {
/// own_children(), its descriptors taken from the reaper's reserve.
std::vector<pid_t> children_in_room() {
  const auto room = scan_room();
  return own_children();
}
}  // namespace

// -- orphan_reaper
// ----------------------------------------------------------------

orphan_reaper::orphan_reaper() {
  auto& r = reaper();
  std::lock_guard lock(r.mutex);
  if (r.users++ > 0) return;
  try {
    // Created once and never closed: a signal handler that loaded the fd
    // just before a stop must never write into a closed (or reused) fd.
    if (!r.read_end) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
      r.read_end.reset(fds[0]);
      r.write_end.reset(fds[1]);
    }
    r.stopping.store(false, std::memory_order_relaxed);
    {
      std::lock_guard room_lock(r.room_mutex);
      r.room.emplace(scan_fds);
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
      r.thread = std::thread([&r] { r.run(); });
    } catch (...) {
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      throw;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_setname_np(r.thread.native_handle(), "vitrine-reap");
  } catch (...) {
    --r.users;
    std::lock_guard room_lock(r.room_mutex);
    r.room.reset();
    throw;
  }
  wake_write_fd.store(r.write_end.get(), std::memory_order_release);  // (1)
  struct sigaction current {};
  ::sigaction(SIGCHLD, nullptr, &current);
  if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) {
    r.handler_installed = false;  // the kernel auto-reaps: nothing to do
  } else {
    previous_action = current;
    struct sigaction ours {};
    ours.sa_sigaction = on_sigchld;
    ours.sa_flags = SA_SIGINFO | SA_RESTART | (current.sa_flags & SA_NOCLDSTOP);
    sigfillset(&ours.sa_mask);
    r.handler_installed = ::sigaction(SIGCHLD, &ours, nullptr) == 0;
  }
  // Orphans that exited before we started, on this thread: no scan is in
  // flight (its reserve lent) when the constructor returns.
  reaped_count.fetch_add(reap_now(), std::memory_order_relaxed);
}

orphan_reaper::~orphan_reaper() {
  auto& r = reaper();
  std::lock_guard lock(r.mutex);
  if (--r.users > 0) return;
  if (r.handler_installed) {
    struct sigaction current {};
    ::sigaction(SIGCHLD, nullptr, &current);
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_sigchld)
      ::sigaction(SIGCHLD, &previous_action, nullptr);
    r.handler_installed = false;
  }
  r.stopping.store(true, std::memory_order_release);
  wake_write_fd.store(-1, std::memory_order_release);
  char byte = 0;
  [[maybe_unused]] ssize_t n = ::write(r.write_end.get(), &byte, 1);
  if (r.thread.joinable()) r.thread.join();
  std::lock_guard room_lock(r.room_mutex);
  r.room.reset();
}

void orphan_reaper::notify() noexcept {
  const int fd = wake_write_fd.load(std::memory_order_acquire);  // pairs (1)
  if (fd < 0) return;
  const int saved = errno;
  char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);
  errno = saved;
}

std::size_t orphan_reaper::reap_now() {
  std::unique_lock lock(scope_mutex());
  std::size_t reaped = 0;
  for (pid_t pid : children_in_room()) {
    if (is_owned_child(pid)) continue;
    siginfo_t info{};
    // WNOHANG on this pid only: never blocks, never takes another child.
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG) ==
            0 &&
        info.si_pid == pid)
      ++reaped;
  }
  return reaped;
}

std::size_t orphan_reaper::kill_adopted(int rounds) {
  std::size_t reaped = 0;
  for (int round = 0; round < rounds; ++round) {
    std::unique_lock lock(scope_mutex());
    std::vector<pid_t> adopted;
    for (pid_t pid : children_in_room())
      if (!is_owned_child(pid)) adopted.push_back(pid);
    if (adopted.empty()) break;
    // Our unreaped children: their pids cannot have been reused.
    for (pid_t pid : adopted) ::kill(pid, SIGKILL);
    for (pid_t pid : adopted) {
      siginfo_t info{};
      int rc;
      do {
        rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
      } while (rc != 0 && errno == EINTR);
      if (rc == 0) ++reaped;
    }
  }
  reaped_count.fetch_add(reaped, std::memory_order_relaxed);
  return reaped;
}

bool orphan_reaper::sole_user() const {
  auto& r = reaper();
  std::lock_guard lock(r.mutex);
  return r.users == 1;
}

std::size_t orphan_reaper::reaped_total() noexcept {
  return reaped_count.load(std::memory_order_relaxed);
}

}  // namespace vitrine::os
