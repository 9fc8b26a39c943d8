#include "io_watch.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string_view>

#include "vitrine/os/reaper.hpp"
#include "vitrine/os/signals.hpp"

namespace vitrine::os::detail {

namespace {

constexpr int reads_per_wakeup = 4;  // 64 KiB per capture pipe per round

}  // namespace

void registration_failed(watch& w, int error) {
  switch (w.what) {
    case watch::kind::exit_notify:
      w.fd.reset();
      if (auto callback = w.take<notify_callback>()) callback(error);
      break;
    case watch::kind::exit: {
      signal_pidfd(w.fd.get(), SIGKILL);
      core::termination status = reap_child_blocking(w.pid, w.fd.get());
      w.fd.reset();
      if (auto callback = w.take<exit_callback>()) callback(status);
      break;
    }
    case watch::kind::cgroup_empty:
      w.fd.reset();
      if (auto callback = w.take<done_callback>()) callback();
      break;
    case watch::kind::capture:
    case watch::kind::ready:
      break;  // the fd closes with the watch
  }
}

std::optional<core::termination> reap_ready_child(watch& w) {
  if (w.kill_group && w.pid > 1) {
    // Peek without reaping: the zombie keeps the group id from reuse.
    siginfo_t info{};
    int rc;
    do {
      rc = ::waitid(P_PIDFD, static_cast<id_t>(w.fd.get()), &info,
                    WEXITED | WNOHANG | WNOWAIT);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0 && info.si_pid != 0) ::kill(-w.pid, SIGKILL);
  }
  return reap_child(w.pid, w.fd.get());
}

pipe_news drain_capture(watch& w, std::span<char> buffer) {
  for (int i = 0; i < reads_per_wakeup;) {
    const ssize_t n = ::read(w.fd.get(), buffer.data(), buffer.size());
    if (n > 0) {
      if (w.sink) w.sink->write({buffer.data(), static_cast<std::size_t>(n)});
      ++i;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return pipe_news::more;
    return pipe_news::closed;
  }
  return pipe_news::more;  // the budget is used up
}

pipe_news read_readiness(watch& w) {
  std::array<char, 256> small{};
  for (int i = 0; i < reads_per_wakeup; ++i) {
    const ssize_t n = ::read(w.fd.get(), small.data(), small.size());
    if (n > 0) {
      if (std::string_view{small.data(), static_cast<std::size_t>(n)}.find(
              '\n') != std::string_view::npos)
        return pipe_news::line;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return pipe_news::more;
    return pipe_news::closed;
  }
  return pipe_news::more;
}

bool cgroup_emptied(const watch& w) {
  std::array<char, 256> text{};
  const ssize_t n = ::pread(w.fd.get(), text.data(), text.size() - 1, 0);
  return n <= 0 ||
         std::string_view{text.data(), static_cast<std::size_t>(n)}.find(
             "populated 0") != std::string_view::npos;
}

}  // namespace vitrine::os::detail
