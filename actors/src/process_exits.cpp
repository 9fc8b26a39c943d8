// The process actor's exits and stops: signalling and killing the
// program (group, cgroup), reaping it, the exit's state and the report
// that asks the supervisor for a restart, and a graceful stop.
#include <cerrno>
#include <csignal>
#include <utility>

#include "child_report.hpp"
#include "process_actor_impl.hpp"
#include "vitrine/os/reaper.hpp"
#include "vitrine/os/signals.hpp"

namespace vitrine::detail {

int process_actor::signal_child(int sig) {
  return os::signal_leader_group(pidfd_.get(), current().pid, sig);
}

void process_actor::signal_program(int sig, bool stopping) {
  // Escaped descendants first: once the group's shell has died they are
  // re-parented away and no longer found below the leader. Those the stop
  // signal reached are kept, to be killed with the group when the leader
  // exits (kill_everything), as a cgroup's would be.
  if (!in_cgroup_)
    os::signal_escaped_descendants(current().pid, sig,
                                   stopping ? &stopped_escapees_ : nullptr);
  signal_child(sig);
  if (in_cgroup_ && sig == SIGKILL) kill_cgroup();
}

void process_actor::kill_cgroup() {
  context_.cgroups->kill_program(id());
  cgroup_killed_ = true;
}

void process_actor::kill_everything() {
  signal_child(SIGKILL);
  for (const auto& escapee : stopped_escapees_) os::kill_escaped(escapee);
  stopped_escapees_.clear();
  if (context_.cgroups && in_cgroup_ &&
      context_.cgroups->program_populated(id()))
    kill_cgroup();
}

void process_actor::reap_and_report() {
  const auto status = take_child();
  restart_trace::mark(restart_trace::point::reaped);
  on_exit(status);
  restart_trace::mark(restart_trace::point::reported);
}

core::termination process_actor::take_child() {
  kill_everything();
  if (context_.guardian) context_.guardian->forget_group(current().pid);
  auto status = os::reap_child(current().pid, pidfd_.get());
  // Readable means exited; the blocking form only covers a kernel that
  // reports readability early (it cannot wait long: we sent SIGKILL).
  if (!status) status = os::reap_child_blocking(current().pid, pidfd_.get());
  pidfd_.reset();
  return *status;
}

void process_actor::on_watch_failure(int error) {
  const bool was_stopping = current().status == process_status::stopping;
  const auto ended = take_child();
  if (was_stopping) return on_exit(ended);
  os::launch_error failure;
  failure.code = error;
  failure.what = "watch the exit of " + std::string{spec_.program()} + ": " +
                 std::strerror(error);
  on_spawn_failure(failure);
}

void process_actor::on_exit(const core::termination& ended) {
  const auto now = clock::now();
  const bool was_stopping = current().status == process_status::stopping;
  const bool was_quick = current().status == process_status::starting;
  if (now - current().started_at >= spec_.backoff.reset_after) backoff_.reset();

  if (was_stopping) {
    publish([&](process_state& s) {
      s.pid = 0;
      s.status = process_status::stopped;
      s.last_exit = ended;
      s.ended_at = now;
    });
    return on_stopped();
  }

  // Started by hand under a supervisor that is not running: nobody
  // restarts it, so it ends `exited` without a backoff (docs/cli.md, ctl).
  bool restart = !supervisor_resting_ && wants_restart(ended);
  process_status next = process_status::exited;
  if (restart) {
    quick_failures_ = was_quick ? quick_failures_ + 1 : 0;
    if (quick_failures_ > spec_.startretries) {
      restart = false;
      next = process_status::failed;
    } else if (restart_window_.period().count() > 0 &&
               !restart_window_.admit(now)) {
      restart = false;  // past its own restart limit: it alone fails
      next = process_status::failed;
    } else {
      next = process_status::backoff;
      backoff_until_ = now + backoff_.next(spec_.backoff);
    }
  }
  restart_due_ = restart;
  reporting_exit_ = true;
  publish([&](process_state& s) {
    s.pid = 0;
    s.status = next;
    s.last_exit = ended;
    s.ended_at = now;
  });
  report(restart);
}

bool process_actor::wants_restart(const core::termination& ended) const {
  switch (spec_.restart) {
    case restart_policy::permanent:
      return true;
    case restart_policy::temporary:
      return false;
    case restart_policy::transient:
      // A signal or a lost status is never an expected exit.
      if (ended.how != core::termination::kind::exited) return true;
      return !spec_.expects_exit_code(ended.value);
  }
  return false;
}

void process_actor::report(bool restart_wanted) {
  reporting_exit_ = false;
  if (supervisor_) send_report(restart_wanted);
  if (waiters_ && !waiters_->starts.empty() && start_ended(current().status))
    deliver_pending_starts();
}

void process_actor::send_report(bool restart_wanted) {
  child_report r;
  r.restart_wanted = restart_wanted;
  // Its policy wanted a restart, but it gave up (startretries, its restart
  // limit, a spawn error no retry can fix).
  r.gave_up = current().status == process_status::failed &&
              spec_.restart != restart_policy::temporary;
  r.version = current().version;
  r.exit = current().spawn_errno != 0
               ? "spawn failed: " + std::string{current().spawn_error()}
               : core::describe(current().last_exit);
  if (restart_wanted)
    r.delay = std::max(std::chrono::milliseconds{0},
                       std::chrono::ceil<std::chrono::milliseconds>(
                           backoff_until_ - clock::now()));
  send(supervisor_, child_event_atom::value, std::move(r));
}

caf::result<caf::ok_atom> process_actor::stop(int sig) {
  switch (current().status) {
    case process_status::starting:
    case process_status::running: {
      signal_program(sig, /*stopping=*/true);
      // Then SIGCONT, as systemd does: a group stopped by SIGSTOP or
      // SIGTSTP acts on the stop signal only once continued (else it would
      // always wait out stop_timeout for its SIGKILL).
      if (sig != SIGKILL && sig != SIGCONT) signal_program(SIGCONT);
      set_status(process_status::stopping);
      arm_timer(spec_.stop_timeout, run_event::kill_due);
      [[fallthrough]];
    }
    case process_status::stopping: {
      auto promise = make_response_promise<caf::ok_atom>();
      waiting().stops.push_back(promise);
      return promise;
    }
    case process_status::backoff:
      ++generation_;  // cancels the pending spawn timer
      set_status(process_status::stopped);
      break;
    default:
      break;
  }
  on_stopped();
  return caf::ok_atom::value;
}

void process_actor::remove_cgroup() {
  os::cgroup_tree* tree = context_.cgroups;
  const std::uint64_t program = id();
  if (tree->remove_program(program) != EBUSY) return;
  // Members still dying (cgroup.kill does not wait for them): the I/O
  // thread removes the directory once the kernel says it is empty. It
  // stops before the runtime frees the tree.
  context_.io.watch_cgroup_empty(
      tree->open_program_events(program),
      [tree, program] { tree->remove_program(program); });
}

void process_actor::on_stopped() {
  if (quit_when_stopped_) leave_last_state();  // before shutdown's reply
  // Before the replies: once the runtime has them it may free the tree.
  if (quit_when_stopped_ && context_.cgroups && in_cgroup_) remove_cgroup();
  if (waiters_) {
    for (auto& promise : waiters_->stops) promise.deliver(caf::ok_atom::value);
    waiters_->stops.clear();
    release_idle_waiters();
  }
  if (quit_when_stopped_) return quit();
  if (restart_when_stopped_) {
    restart_when_stopped_ = false;
    start_fresh();
  }
}

}  // namespace vitrine::detail
