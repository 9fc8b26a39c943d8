#include "vitrine/os/io_service.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "io_watch.hpp"

namespace vitrine::os {

namespace {

constexpr std::uint64_t wake_token = 0;
constexpr std::size_t read_chunk = 16 * 1024;

using detail::done_callback;
using detail::exit_callback;
using detail::notify_callback;
using detail::pipe_news;
using detail::watch;

}  // namespace

/// The loop the calling thread runs, if it is an I/O thread. Not the
/// thread's id, kept after the thread ended: a thread made later may be
/// given the same id (it was, in a Debug build: a runtime destroyed on a
/// new thread took its joined I/O thread's id, and ~io_service asserted).
thread_local const void* running_loop = nullptr;

struct io_service::impl {
  unique_fd epoll;
  unique_fd wake;
  std::thread thread;

  std::mutex mutex;  // guards pending and accepting
  std::vector<watch> pending;
  bool accepting = true;

  std::mutex stop_mutex;  // serialises stop()
  std::atomic<bool> stop_requested{false};
  std::atomic<std::size_t> active{0};
  std::atomic<std::size_t> failed{0};

  // Owned by the io thread only.
  // By value: one allocation (the node) a watch.
  std::unordered_map<std::uint64_t, watch> watches;
  std::uint64_t next_token = 1;
  std::array<char, read_chunk> buffer{};

  bool submit(watch w) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!accepting) return false;  // w (and its fd) dies here
      pending.push_back(std::move(w));
      active.fetch_add(1, std::memory_order_relaxed);
      // Under the lock: stop() closes the eventfd only after it has set
      // accepting = false under this same lock, so we never write to a
      // closed (or reused) fd.
      poke();
    }
    return true;
  }

  void poke() noexcept {
    std::uint64_t one = 1;
    while (::write(wake.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
  }

  void finish(std::uint64_t token) {
    auto it = watches.find(token);
    if (it == watches.end()) return;
    // Closing the fd is not enough: epoll drops an item only when the last
    // descriptor of its open file is closed, and notify_exit watches a
    // duplicate of a pidfd its owner keeps. Left in the set, an exited
    // child's pidfd stays ready (level-triggered) and epoll_wait returns
    // it again and again until the owner reaps: this thread spun at full
    // CPU after every exit.
    ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, it->second.fd.get(), nullptr);
    watches.erase(it);
    active.fetch_sub(1, std::memory_order_relaxed);
  }

  void adopt_pending() {
    std::uint64_t drained;
    while (::read(wake.get(), &drained, sizeof drained) < 0 && errno == EINTR) {
    }
    std::vector<watch> batch;
    {
      std::lock_guard<std::mutex> lock(mutex);
      batch.swap(pending);
    }
    for (auto& w : batch) {
      std::uint64_t token = next_token++;
      epoll_event ev{};
      // cgroup.events is always readable: the kernel flags a change with
      // EPOLLPRI (and EPOLLERR) until the file is read again.
      ev.events = w.what == watch::kind::cgroup_empty ? EPOLLPRI : EPOLLIN;
      ev.data.u64 = token;
      if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, w.fd.get(), &ev) != 0) {
        const int error = errno;
        failed.fetch_add(1, std::memory_order_relaxed);
        active.fetch_sub(1, std::memory_order_relaxed);
        detail::registration_failed(w, error);
        continue;
      }
      auto [it, added] = watches.emplace(token, std::move(w));
      // Emptied before the watch began: no change will come to say so.
      if (it->second.what == watch::kind::cgroup_empty)
        on_cgroup_event(token, it->second);
    }
  }

  void on_exit_ready(std::uint64_t token, watch& w) {
    auto status = detail::reap_ready_child(w);
    if (!status) return;  // not exited yet: keep watching
    end(token, w.take<exit_callback>(), *status);
  }

  void on_exit_notify(std::uint64_t token, watch& w) {
    // finish() closes our duplicate; the owner keeps its pidfd.
    end(token, w.take<notify_callback>(), 0);
  }

  void on_capture_ready(std::uint64_t token, watch& w) {
    if (detail::drain_capture(w, buffer) == pipe_news::closed)
      end(token, w.take<done_callback>());
  }

  void on_notify_ready(std::uint64_t token, watch& w) {
    const auto news = detail::read_readiness(w);
    if (news == pipe_news::line) end(token, w.take<done_callback>());
    if (news == pipe_news::closed) finish(token);  // never ready
  }

  void on_cgroup_event(std::uint64_t token, watch& w) {
    if (detail::cgroup_emptied(w)) end(token, w.take<done_callback>());
  }

  /// Ends the watch, then runs its callback (taken out of it first: the
  /// watch is gone by then).
  template <class Callback, class... Args>
  void end(std::uint64_t token, Callback callback, Args... args) {
    finish(token);
    if (callback) callback(args...);
  }

  void run() {
    running_loop = this;
    std::array<epoll_event, 64> events;
    while (!stop_requested.load(std::memory_order_acquire)) {
      int n = ::epoll_wait(epoll.get(), events.data(),
                           static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EBADF/EINVAL: cannot go on
      }
      for (int i = 0; i < n; ++i) {
        std::uint64_t token = events[i].data.u64;
        if (token == wake_token) {
          adopt_pending();
          continue;
        }
        auto it = watches.find(token);
        if (it == watches.end()) continue;
        watch& w = it->second;
        switch (w.what) {
          case watch::kind::exit:
            on_exit_ready(token, w);
            break;
          case watch::kind::exit_notify:
            on_exit_notify(token, w);
            break;
          case watch::kind::capture:
            on_capture_ready(token, w);
            break;
          case watch::kind::ready:
            on_notify_ready(token, w);
            break;
          case watch::kind::cgroup_empty:
            on_cgroup_event(token, w);
            break;
        }
      }
    }
    watches.clear();  // closes every fd still held; callbacks never run
  }
};

io_service::io_service() : impl_(std::make_unique<impl>()) {
  impl_->epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!impl_->epoll) {
    throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }
  impl_->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl_->wake) {
    throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_token;
  if (::epoll_ctl(impl_->epoll.get(), EPOLL_CTL_ADD, impl_->wake.get(), &ev)) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }
  // The thread inherits this mask: no signal handler ever runs on it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    impl_->thread = std::thread([p = impl_.get()] { p->run(); });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_setname_np(impl_->thread.native_handle(), "vitrine-io");
}

io_service::~io_service() {
  assert(running_loop != impl_.get());  // not from its own callbacks
  stop();
}

void io_service::stop() noexcept {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->accepting = false;
  }
  impl_->stop_requested.store(true, std::memory_order_release);
  // On the io thread (from a callback) we cannot join: the loop ends after
  // this round and a later stop() from another thread joins.
  if (running_loop == impl_.get()) return;
  std::lock_guard<std::mutex> lock(impl_->stop_mutex);
  if (!impl_->thread.joinable()) return;
  impl_->poke();
  impl_->thread.join();
  std::vector<watch> leftovers;
  {
    std::lock_guard<std::mutex> pending_lock(impl_->mutex);
    leftovers.swap(impl_->pending);
  }
  leftovers.clear();
  impl_->active.store(0, std::memory_order_relaxed);
  impl_->wake.reset();
  impl_->epoll.reset();
}

bool io_service::watch_exit(launched_child& c,
                            std::function<void(core::termination)> on_exit,
                            bool kill_group) {
  return watch_exit(c.pid, std::move(c.pidfd), std::move(on_exit), kill_group);
}

bool io_service::watch_exit(pid_t pid, unique_fd pidfd,
                            std::function<void(core::termination)> on_exit,
                            bool kill_group) {
  if (!pidfd) return false;
  watch w;
  w.what = watch::kind::exit;
  w.fd = std::move(pidfd);
  w.pid = pid;
  w.kill_group = kill_group;
  w.callback = exit_callback{std::move(on_exit)};
  return impl_->submit(std::move(w));
}

bool io_service::notify_exit(const unique_fd& pidfd,
                             std::function<void(int error)> on_exited) {
  if (!pidfd) return false;
  watch w;
  w.what = watch::kind::exit_notify;
  w.fd.reset(::fcntl(pidfd.get(), F_DUPFD_CLOEXEC, 3));
  if (!w.fd) return false;
  w.callback = notify_callback{std::move(on_exited)};
  return impl_->submit(std::move(w));
}

bool io_service::call_after(std::chrono::milliseconds delay,
                            std::function<void(int error)> fired) {
  watch w;
  // A timer is a one-shot readable fd, like a pidfd: the same watch.
  w.what = watch::kind::exit_notify;
  w.fd.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!w.fd) return false;
  const auto ns = std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count());
  itimerspec when{};
  when.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  when.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (::timerfd_settime(w.fd.get(), 0, &when, nullptr) != 0) return false;
  w.callback = notify_callback{std::move(fired)};
  return impl_->submit(std::move(w));
}

bool io_service::capture(unique_fd pipe_read_end,
                         std::shared_ptr<log_sink> sink,
                         std::function<void()> on_closed) {
  if (!pipe_read_end) return false;
  watch w;
  w.what = watch::kind::capture;
  w.fd = std::move(pipe_read_end);
  w.sink = std::move(sink);
  w.callback = done_callback{std::move(on_closed)};
  return impl_->submit(std::move(w));
}

bool io_service::watch_ready(unique_fd notify_read_end,
                             std::function<void()> on_ready) {
  if (!notify_read_end) return false;
  watch w;
  w.what = watch::kind::ready;
  w.fd = std::move(notify_read_end);
  w.callback = done_callback{std::move(on_ready)};
  return impl_->submit(std::move(w));
}

bool io_service::watch_cgroup_empty(unique_fd cgroup_events,
                                    std::function<void()> on_empty) {
  if (!cgroup_events) return false;
  watch w;
  w.what = watch::kind::cgroup_empty;
  w.fd = std::move(cgroup_events);
  w.callback = done_callback{std::move(on_empty)};
  return impl_->submit(std::move(w));
}

std::size_t io_service::active_watches() const noexcept {
  return impl_->active.load(std::memory_order_relaxed);
}

std::size_t io_service::failed_registrations() const noexcept {
  return impl_->failed.load(std::memory_order_relaxed);
}

}  // namespace vitrine::os
