// io_watch: one descriptor io_service's thread watches, and what it means
// when that descriptor becomes ready, by kind (a child's exit, a capture
// pipe, a readiness pipe, a cgroup's events file).
//
// Internal to io_service.cpp. Threads: the I/O thread only, except that a
// watch is built by the submitting thread. Cost: each function is one or a
// few non-blocking system calls (reap_ready_child: waitid), no allocation.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <variant>

#include "vitrine/core/termination.hpp"
#include "vitrine/os/log_sink.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os::detail {

using exit_callback = std::function<void(core::termination)>;
using notify_callback = std::function<void(int)>;  ///< 0 or the watch's errno
using done_callback = std::function<void()>;

/// One per watched fd, held by the I/O thread (one per supervised process
/// at least: kept small).
struct watch {
  enum class kind : std::uint8_t {
    exit,
    exit_notify,
    capture,
    ready,
    cgroup_empty
  } what = kind::exit;
  bool kill_group = false;  // exit: SIGKILL the group before reaping
  pid_t pid = 0;
  unique_fd fd;
  /// By kind: exit_callback (exit), notify_callback (exit_notify),
  /// done_callback (capture: on closed; ready: on ready; cgroup_empty: on
  /// empty).
  std::variant<exit_callback, notify_callback, done_callback> callback;
  std::shared_ptr<log_sink> sink;  // capture

  /// Moves the callback out (it runs once), leaving an empty one.
  template <class Callback>
  Callback take() {
    return std::move(std::get<Callback>(callback));
  }
};

/// A watch that could not be added must not leave a child unwatched
/// forever: the owner hears about it (exit_notify: `error`), or the child
/// is killed and reaped here (exit), so its callback still runs; a
/// cgroup_empty watch reports empty; capture and ready only close the fd
/// (the writer sees EPIPE).
void registration_failed(watch& w, int error);

/// exit: the child's status once it has exited (SIGKILLing its group
/// first when asked, while the zombie still holds the group id), or none
/// when it has not.
std::optional<core::termination> reap_ready_child(watch& w);

/// What a readable pipe said.
enum class pipe_news {
  more,    ///< nothing decisive: keep watching
  line,    ///< ready: a newline came
  closed,  ///< EOF or a read error: the watch is over
};

/// capture: copies what the pipe holds into the sink, up to
/// `reads_per_wakeup` reads of `buffer` (level-triggered epoll comes back
/// for the rest after the other fds); `more` or `closed`.
pipe_news drain_capture(watch& w, std::span<char> buffer);

/// ready: reads the readiness pipe; `line` at the first newline.
pipe_news read_readiness(watch& w);

/// cgroup_empty: whether cgroup.events says `populated 0` (or cannot be
/// read: the cgroup is gone). Reading it also re-arms its EPOLLPRI.
bool cgroup_emptied(const watch& w);

}  // namespace vitrine::os::detail
