// The process actor's starts: a supervisor's or a handle's start, the
// spawn (with its cgroup, output capture, readiness and exit watches), a
// failed spawn, the backoff before a respawn, and `running`.
#include <cerrno>
#include <chrono>
#include <utility>
#include <variant>

#include "process_actor_impl.hpp"

namespace vitrine::detail {

namespace {

// Spawn errors that a retry cannot fix.
bool is_permanent(int error) {
  switch (error) {
    case EMFILE:
    case ENFILE:
    case EAGAIN:
    case ENOMEM:
    case EINTR:
      return false;
    default:
      return true;
  }
}

}  // namespace

caf::result<std::uint64_t> process_actor::start_for_supervisor() {
  count();
  const std::uint64_t before = current().version;
  start();
  // Waits while starting, and (until running) in a backoff: one it was
  // already in (the start armed the spawn timer), or after a spawn that
  // failed right here and may pass (its report is sent: the supervisor
  // grants the retry within this start). Under one_for_one, a backoff it
  // was already in waits for its spawn too, as before.
  const bool waits = !start_ended(current().status) ||
                     (current().status == process_status::backoff &&
                      current().version == before);
  if (!waits) return before;
  auto promise = make_response_promise<std::uint64_t>();
  auto& starts = waiting().starts;
  starts.emplace_back(std::move(promise), before);
  return starts.back().first;
}

void process_actor::deliver_pending_starts() {
  auto pending = std::move(waiters_->starts);
  waiters_->starts.clear();
  release_idle_waiters();
  for (auto& [promise, before] : pending) promise.deliver(before);
}

void process_actor::restart() {
  if (!has_child()) return start_fresh();
  restart_when_stopped_ = true;
  stop();
}

void process_actor::start() {
  switch (current().status) {
    case process_status::stopped:
    case process_status::exited:
    case process_status::failed:
      start_fresh();
      break;
    case process_status::backoff:
      arm_spawn_timer();
      break;
    case process_status::stopping:
      restart_when_stopped_ = true;  // start again once reaped
      break;
    default:
      break;  // already starting or running
  }
}

void process_actor::start_fresh() {
  restart_due_ = false;  // a start, not a restart
  quick_failures_ = 0;
  backoff_.reset();
  spawn();
}

void process_actor::arm_spawn_timer() {
  ++generation_;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(
      backoff_until_ - clock::now());
  if (left.count() <= 0) return spawn();
  arm_timer(left, run_event::spawn_due);
}

void process_actor::spawn() {
  // The runtime is shutting down: a start that still gets here (a handle's
  // or a node controller's restart during the ordered stop, a backoff
  // timer) leaves the process stopped instead of spawning it.
  if (context_.shutting_down.stop_requested())
    return set_status(process_status::stopped);
  const bool restarted = restart_due_;
  restart_due_ = false;
  // One cgroup per program where the runtime has a tree: it holds every
  // descendant, setsid daemons included ("" = process groups only).
  os::launch_options options = spec_.launch_options();
  if (context_.cgroups) {
    options.cgroup = in_cgroup_ ? context_.cgroups->program_path(id())
                                : context_.cgroups->create_program(id());
    in_cgroup_ = !options.cgroup.empty();
    options.cgroup_killed = cgroup_killed_;
  }
  auto result = os::launch(options, context_.guardian);
  restart_trace::mark(restart_trace::point::launched);
  if (auto* error = std::get_if<os::launch_error>(&result))
    return on_spawn_failure(*error, restarted);
  auto& child = std::get<os::launched_child>(result);
  const std::uint64_t generation = ++generation_;
  const pid_t pid = child.pid;
  // Owner-side reaping: we keep the pidfd; the I/O thread only tells us
  // when it becomes readable. Until we reap, pid and group id stay ours.
  pidfd_ = std::move(child.pidfd);
  // The guardian guards its group already: the child marked it (launch()).
  auto self = caf::actor_cast<caf::actor>(this);
  capture_output(child, options);
  if (child.notify_pipe)
    context_.io.watch_ready(std::move(child.notify_pipe), [self, generation] {
      caf::anon_send(self, run_event_atom::value,
                     static_cast<int>(run_event::ready), generation, 0);
    });
  errno = 0;
  const bool watched =
      context_.io.notify_exit(pidfd_, [self, generation](int watch_error) {
        restart_trace::mark(restart_trace::point::exit_seen);
        caf::anon_send(self, run_event_atom::value,
                       static_cast<int>(run_event::exited), generation,
                       watch_error);
      });
  const int watch_errno = watched ? 0 : (errno != 0 ? errno : ESHUTDOWN);
  // startsecs 0: running at once, readiness pipe or not (its line, if
  // one comes, is read and dropped).
  const bool ready_at_once = spec_.startsecs.count() == 0;
  publish([&](process_state& s) {
    if (restarted) ++s.restart_count;
    s.pid = pid;
    s.status =
        ready_at_once ? process_status::running : process_status::starting;
    s.started_at = clock::now();
    s.spawn_errno = 0;
    s.spawn_error_storage = nullptr;
  });
  if (!ready_at_once && spec_.startsecs.count() > 0)
    arm_timer(spec_.startsecs, run_event::up);
  if (!watched) on_watch_failure(watch_errno);
}

void process_actor::capture_output(os::launched_child& child,
                                   const os::launch_options& options) {
  if (!child.stdout_pipe && !child.stderr_pipe) return;
  if (!sinks_) {
    // Made once, kept across runs; one sink when both go to one file.
    sinks_ = std::make_unique<output_sinks>();
    const auto& out = options.stdout_target;
    const auto& err = options.stderr_target;
    const log_rotation logs = spec_.logs();
    auto sink_to = [&](const std::string& path) {
      return std::make_shared<os::log_sink>(path, logs.max_bytes, logs.backups);
    };
    if (out.mode == os::stdio_target::kind::capture)
      sinks_->out = sink_to(out.path);
    if (err.mode == os::stdio_target::kind::capture)
      sinks_->err =
          out.mode == os::stdio_target::kind::capture && err.path == out.path
              ? sinks_->out
              : sink_to(err.path);
  }
  if (child.stdout_pipe)
    context_.io.capture(std::move(child.stdout_pipe), sinks_->out);
  if (child.stderr_pipe)
    context_.io.capture(std::move(child.stderr_pipe), sinks_->err);
}

void process_actor::on_spawn_failure(const os::launch_error& error,
                                     bool restarting) {
  const bool retry =
      !is_permanent(error.code) && ++quick_failures_ <= spec_.startretries;
  if (retry) {
    backoff_until_ = clock::now() + backoff_.next(spec_.backoff);
  }
  restart_due_ = retry;
  reporting_exit_ = true;
  publish([&](process_state& s) {
    if (restarting) ++s.restart_count;
    s.pid = 0;
    s.status = retry ? process_status::backoff : process_status::failed;
    s.spawn_errno = error.code;
    s.spawn_error_storage = std::make_shared<const std::string>(error.what);
  });
  report(retry);
}

void process_actor::become_running() {
  quick_failures_ = 0;
  set_status(process_status::running);
}

}  // namespace vitrine::detail
