#include "vitrine/os/guardian.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

#include "guardian_process.hpp"
#include "guardian_wire.hpp"
#include "raw_signals.hpp"
#include "vitrine/os/io_service.hpp"
#include "vitrine/os/reaper.hpp"
#include "vitrine/os/signals.hpp"

namespace vitrine::os {

namespace {

using detail::guardian_main;
using detail::guardian_plan;
using detail::guardian_record;
namespace guardian_table = detail::guardian_table;
using detail::guardian_stack_size;

// Fields 48 and 49 of /proc/self/stat: where the kernel reads our command
// line from. {nullptr, nullptr} when it cannot be read.
std::pair<char*, char*> argument_area() noexcept {
  unique_fd fd{::open("/proc/self/stat", O_RDONLY | O_CLOEXEC)};
  if (!fd) return {};
  char buffer[1024];
  ssize_t n;
  do {
    n = ::read(fd.get(), buffer, sizeof buffer);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return {};
  const std::string_view text(buffer, static_cast<std::size_t>(n));
  // "pid (comm) S ...": comm may hold spaces and ')'; field 3 follows it.
  std::size_t at = text.rfind(')');
  if (at == std::string_view::npos) return {};
  std::uintptr_t bounds[2] = {0, 0};
  at += 2;
  for (int field = 3; field <= 49 && at < text.size(); ++field) {
    std::size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    if (field >= 48)
      std::from_chars(text.data() + at, text.data() + end, bounds[field - 48]);
    at = end + 1;
  }
  if (bounds[0] == 0 || bounds[1] <= bounds[0]) return {};
  return {reinterpret_cast<char*>(bounds[0]),
          reinterpret_cast<char*>(bounds[1])};
}

// Shared, so that every guardian forked from us sees our writes; anonymous
// pages are only allocated where a bit was ever set (pids are handed out in
// order: a fleet's groups share a few pages).
std::uint64_t* map_group_table() {
  void* p = ::mmap(nullptr, guardian_table::bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "mmap");
  return static_cast<std::uint64_t*>(p);
}

// Waits until the guardian has left our session (its guardian_ready), so
// that a kill of our process group from then on spares it; at most
// `patience`: on a machine too loaded to run it sooner it is used anyway.
// Returns at once if it died first (the socket hangs up).
void await_ready(int socket, std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{socket, POLLIN, 0};
    const int n =
        ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && (p.revents & POLLIN) != 0) {
      guardian_record r{};
      ::recv(socket, &r, sizeof r, MSG_DONTWAIT);
    }
    return;
  }
}

}  // namespace

guardian::guardian(std::string cgroup_root)
    : cgroup_root_(std::move(cgroup_root)) {
  groups_ = map_group_table();
  std::lock_guard lock(mutex_);
  try {
    start_locked();
  } catch (...) {
    ::munmap(groups_, guardian_table::bytes);
    throw;
  }
}

guardian::~guardian() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  if (socket_) send_quit_locked();
  socket_.reset();
  if (pidfd_) {
    // A guardian that does not quit in time (stopped, or starved of CPU)
    // is killed: a dead guardian kills nothing, and the host's shutdown
    // must not wait on it (it hung for as long as one was SIGSTOPped).
    pollfd p{pidfd_.get(), POLLIN, 0};
    const auto deadline = std::chrono::steady_clock::now() + quit_patience;
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      const int n =
          ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) signal_pidfd(pidfd_.get(), SIGKILL);
      break;
    }
    reap_child_blocking(pid_.load(), pidfd_.get());
    pidfd_.reset();
  }
  ::munmap(groups_, guardian_table::bytes);
}

void guardian::start_locked() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  unique_fd ours{pair[0]}, theirs{pair[1]};
  unique_fd devnull{::open("/dev/null", O_RDWR | O_CLOEXEC)};
  if (!devnull) throw std::system_error(errno, std::generic_category(), "open");
  unique_fd cgroup_dir;
  if (!cgroup_root_.empty())
    cgroup_dir.reset(
        ::open(cgroup_root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));

  guardian_plan plan;
  plan.socket_fd = theirs.get();
  plan.devnull_fd = devnull.get();
  plan.cgroup_dir_fd = cgroup_dir.get();
  plan.cgroup_root = cgroup_dir ? cgroup_root_.c_str() : nullptr;
  plan.host = ::getpid();
  plan.groups = groups_;
  plan.ns_per_clock_tick =
      1000000000u / static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK));
  std::tie(plan.args_low, plan.args_high) = argument_area();

  void* stack = ::mmap(nullptr, guardian_stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "mmap");
  plan.stack_low = static_cast<const char*>(stack);
  plan.stack_high = static_cast<const char*>(stack) + guardian_stack_size;
  int pidfd = -1;
  pid_t pid;
  int error = 0;
  {
    owned_child_scope scope;
    detail::all_signals_blocked blocked;
    // No CLONE_VM: the guardian gets a copy of our memory (the plan
    // included) and shares only the table of groups with us after this.
    pid = VITRINE_RAW_CLONE(
        guardian_main, static_cast<char*>(stack) + guardian_stack_size,
        CLONE_PIDFD | SIGCHLD, &plan, &pidfd, nullptr, nullptr);
    error = errno;
    if (pid > 0) register_owned_child(pid);
  }
  ::munmap(stack, guardian_stack_size);
  if (pid < 0) throw std::system_error(error, std::generic_category(), "clone");
  await_ready(ours.get(), std::chrono::seconds(5));
  socket_ = std::move(ours);
  pidfd_.reset(pidfd);
  pid_.store(pid);
}

void guardian::send_quit_locked() noexcept {
  const guardian_record r{detail::guardian_quit, 0};
  // MSG_NOSIGNAL: a dead guardian must not raise SIGPIPE in the host. The
  // quit is the only message the host sends, so the queue has room; if it
  // failed anyway, the guardian would take the socket's EOF for the host's
  // death and kill the groups still marked (none after a normal shutdown).
  ssize_t sent;
  do {
    sent = ::send(socket_.get(), &r, sizeof r, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
}

void guardian::watch(io_service& io) {
  std::lock_guard lock(mutex_);
  io_ = &io;
  io.notify_exit(pidfd_, [this](int) { on_guardian_exit(); });
  arm_stopped_check_locked();
}

void guardian::arm_stopped_check_locked() {
  io_->call_after(stopped_check_interval, [this](int error) {
    if (error == 0) continue_if_stopped();
  });
}

void guardian::continue_if_stopped() {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  if (pidfd_) {
    // WNOWAIT: the stop stays reportable (to a debugger's wait, say);
    // without WEXITED an exit is left to on_guardian_exit().
    siginfo_t info{};
    const int rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info,
                            WSTOPPED | WNOHANG | WNOWAIT);
    if (rc == 0 && info.si_pid != 0 && info.si_code == CLD_STOPPED &&
        signal_pidfd(pidfd_.get(), SIGCONT) == 0)
      continuations_.fetch_add(1, std::memory_order_relaxed);
  }
  arm_stopped_check_locked();
}

void guardian::on_guardian_exit() {
  std::lock_guard lock(mutex_);
  if (stopping_ || !pidfd_) return;
  reap_child_blocking(pid_.load(), pidfd_.get());
  pidfd_.reset();
  socket_.reset();
  pid_.store(0);
  replace_locked();
}

void guardian::replace_locked() {
  try {
    start_locked();
  } catch (...) {
    // The host cannot fork now (EAGAIN under a pids limit, ENOMEM): try
    // again later rather than leave the programs unguarded for good.
    using namespace std::chrono_literals;
    retry_delay_ = std::clamp(retry_delay_ * 2, 10ms, 1000ms);
    io_->call_after(retry_delay_, [this](int error) {
      if (error == 0) retry_replacement();
    });
    return;
  }
  retry_delay_ = {};
  replacements_.fetch_add(1, std::memory_order_relaxed);
  io_->notify_exit(pidfd_, [this](int) { on_guardian_exit(); });
}

void guardian::retry_replacement() {
  std::lock_guard lock(mutex_);
  if (stopping_ || pidfd_) return;
  replace_locked();
}

void guardian::watch_group(pid_t pgid) noexcept {
  guardian_table::mark(groups_, pgid);
}

void guardian::forget_group(pid_t pgid) noexcept {
  guardian_table::clear(groups_, pgid);
}

bool guardian::guards(pid_t pgid) const noexcept {
  return guardian_table::marked(groups_, pgid);
}

pid_t guardian::pid() const noexcept {
  return pid_.load();
}

std::size_t guardian::replacements() const noexcept {
  return replacements_.load(std::memory_order_relaxed);
}

std::size_t guardian::continuations() const noexcept {
  return continuations_.load(std::memory_order_relaxed);
}

}  // namespace vitrine::os
