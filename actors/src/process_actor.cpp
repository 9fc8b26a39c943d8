#include "process_actor.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <vector>

#include "atoms.hpp"
#include "child_report.hpp"
#include "status_table_writer.hpp"
#include "supervisor_actor.hpp"
#include "vitrine/core/backoff.hpp"
#include "vitrine/core/restart_window.hpp"
#include "vitrine/os/cgroup.hpp"
#include "vitrine/os/guardian.hpp"
#include "vitrine/os/log_sink.hpp"
#include "vitrine/os/reaper.hpp"
#include "vitrine/os/signals.hpp"
#include "vitrine/restart_trace.hpp"

namespace vitrine::detail {
namespace {

using core::process_state;
using core::process_status;
using clock = std::chrono::steady_clock;

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

class process_actor final : public caf::event_based_actor {
 public:
  process_actor(caf::actor_config& config,
                std::shared_ptr<process_record> record, process_spec spec,
                const runtime_context& context, caf::actor supervisor)
      : caf::event_based_actor(config),
        record_(std::move(record)),
        spec_(std::move(spec)),
        io_(context.io),
        guardian_(context.guardian),
        cgroups_(context.cgroups),
        publishes_(context.reads->reads_published()),
        publications_(context.publications),
        supervisor_(std::move(supervisor)),
        backoff_(spec_.backoff, std::hash<std::string>{}(spec_.name)),
        restart_window_(spec_.restart_limit.burst,
                        spec_.restart_limit.interval),
        current_(record_->state.current_unsafe()) {
    // The runtime's cgroup tree places the program (spawn()), not the spec.
    spec_.launch.cgroup.clear();
    if (!publishes_)
      unpublished_history_ = std::make_unique<core::transition_history>();
  }

  caf::behavior make_behavior() override {
    return {
        // A supervisor's start. Replies with the state version from before
        // the start once the process left `starting` (running, or an exit):
        // a supervisor starts the next child only then. Exit reports of this
        // run carry later versions, so the supervisor can drop older ones.
        // A sibling a supervisor restarts with it (one_for_all,
        // rest_for_one) gets the same: its restart_count counts its own
        // exits only.
        // A fresh start (the supervisor starts as a whole, e.g. restarted
        // by its parent) begins a new restart-limit window, as a manual
        // start does.
        // A start its supervisor cancelled before it got here (a stop came
        // during a parallel start) is answered without spawning.
        [this](start_atom, bool fresh,
               const std::stop_token& cancel) -> caf::result<std::uint64_t> {
          if (cancel.stop_requested()) {
            count();
            return current_.version;
          }
          if (fresh) restart_window_.clear();
          return start_for_supervisor();
        },
        // A command from a handle, applied and then published with its
        // ticket. A manual start or restart begins a fresh restart-limit
        // window, and (as in OTP) a supervisor does not count it.
        [this](command_atom, std::uint64_t ticket, int kind) {
          count();
          applied_ticket_ = std::max(applied_ticket_, ticket);
          const std::uint64_t before = current_.version;
          switch (static_cast<command_kind>(kind)) {
            case command_kind::start:
              restart_window_.clear();
              start();
              break;
            case command_kind::stop:
              restart_when_stopped_ = false;  // the latest command wins
              stop();
              break;
            case command_kind::restart:
              restart_window_.clear();
              restart();
              break;
            case command_kind::kill:
              restart_when_stopped_ = false;
              // Stopping, as for stop() (the exit is no crash), with
              // SIGKILL as the only signal (also when a stop was under way).
              if (current_.status == process_status::stopping)
                signal_program(SIGKILL);
              stop(SIGKILL);
              break;
          }
          if (current_.version == before) publish([](process_state&) {});
        },
        // The supervisor is not running and will not restart this process:
        // it stops where it is (unless something happened since it asked).
        [this](deny_atom, std::uint64_t reported_version) {
          count();
          if (current_.status == process_status::backoff &&
              current_.version == reported_version) {
            ++generation_;  // cancels a pending spawn timer
            set_status(process_status::stopped);
          }
        },
        // A supervisor's stop (a stop, restart or failure of its tree) is
        // the latest word: a restart or start command still waiting for
        // the reap does not bring the process back behind its back.
        [this](stop_atom) -> caf::result<caf::ok_atom> {
          count();
          restart_when_stopped_ = false;
          return stop();
        },
        [this](resume_atom) {
          restart_trace::mark(restart_trace::point::grant_received);
          count();
          if (current_.status == process_status::backoff) arm_spawn_timer();
        },
        [this](restart_atom) {
          count();
          restart();
        },
        [this](signal_atom, int sig) {
          count();
          return has_child() ? signal_child(sig) : ESRCH;
        },
        [this](shutdown_atom) -> caf::result<caf::ok_atom> {
          count();
          quit_when_stopped_ = true;
          return stop();
        },
        [this](caf::get_atom) {
          count();
          return current_;
        },
        [this](subscribe_atom, caf::actor& who) {
          count();
          subscribers_.push_back(std::move(who));
        },
        [this](unsubscribe_atom, const caf::actor& who) {
          count();
          std::erase(subscribers_, who);
        },
        // One handler for the events of a run: stale ones (a timer armed
        // before a stop, a readiness after an exit) are dropped here.
        [this](run_event_atom, int event, std::uint64_t generation, int error) {
          if (event == static_cast<int>(run_event::exited))
            restart_trace::mark(restart_trace::point::exit_received);
          count();
          if (generation == generation_)
            on_run_event(static_cast<run_event>(event), error);
        },
    };
  }

  void on_exit() override {
    leave_last_state();
    // Break handle cycles so actors are freed after quitting.
    supervisor_ = nullptr;
    subscribers_.clear();
    // Quitting with a child still running (an abnormal exit): kill and reap
    // it here, nobody else will.
    if (has_child()) take_child();
  }

 private:
  void count() {
    record_->messages_handled.store(
        record_->messages_handled.load(std::memory_order_relaxed) + 1,
        std::memory_order_relaxed);
  }

  bool has_child() const { return current_.pid != 0; }
  /// This program's cgroup, "" = none (the launch options hold it).
  const std::string& cgroup() const { return spec_.launch.cgroup; }

  /// An event of the current run (run_event_atom).
  void on_run_event(run_event event, int error) {
    switch (event) {
      case run_event::exited:
        if (!has_child()) return;
        if (error != 0) return on_watch_failure(error);
        return reap_and_report();
      case run_event::ready:
      case run_event::up:
        if (current_.status == process_status::starting) become_running();
        return;
      case run_event::kill_due:
        if (current_.status == process_status::stopping)
          signal_program(SIGKILL);
        return;
      case run_event::spawn_due:
        if (current_.status == process_status::backoff) spawn();
        return;
    }
  }

  /// Sends this actor an event of the current run after `delay`.
  void arm_timer(std::chrono::milliseconds delay, run_event event) {
    delayed_send(this, delay, run_event_atom::value, static_cast<int>(event),
                 generation_, 0);
  }

  // Under a policy that asks the actor (the messaging baseline) nothing is
  // published while it lives; handles read the record once it is gone, so
  // leave the last state there.
  void leave_last_state() {
    if (publishes_) return;
    if (record_->state.current_unsafe().version == current_.version) return;
    record_->history.publish(*unpublished_history_);
    record_->state.publish(current_);
  }

  template <class Mutate>
  void publish(Mutate mutate) {
    process_state next = current_;
    mutate(next);
    next.version = current_.version + 1;
    next.applied_command = applied_ticket_;
    current_ = next;
    // Before anyone can see it: an observer woken by this publish reads the
    // trace at once.
    restart_trace::mark(restart_trace::point::published);
    const core::transition entry{.version = next.version,
                                 .at = clock::now(),
                                 .last_exit = next.last_exit,
                                 .pid = next.pid,
                                 .restart_count = next.restart_count,
                                 .status = next.status};
    if (publishes_) {
      // History first: a reader that sees (or waited for) this state then
      // finds it in the history too. The state's release store orders the
      // history publish before it; the other order left readers (and
      // wait_for_status callers) with a history one transition behind.
      // The next history is the published one plus this entry: the actor
      // keeps no copy of its own (336 bytes a process).
      core::transition_history history = record_->history.current_unsafe();
      history.push(entry);
      record_->history.publish(std::move(history));
      record_->state.publish(std::move(next));
    } else {
      unpublished_history_->push(entry);
    }
    if (record_->status_table) record_->status_table->publish(current_);
    publications_->bump();
    for (const auto& s : subscribers_)
      send(s, state_changed_atom::value, current_);
    // Before any exit report this publish precedes (same receiver, FIFO).
    if (!pending_starts_.empty() && current_.status != process_status::starting)
      deliver_pending_starts();
  }

  void set_status(process_status status) {
    publish([&](process_state& s) { s.status = status; });
  }

  // -- starting ---------------------------------------------------------------

  caf::result<std::uint64_t> start_for_supervisor() {
    count();
    const std::uint64_t before = current_.version;
    start();
    // Waits while starting, or in a backoff it was already in (the start
    // armed the spawn timer). A spawn that failed right here ended this
    // start early, like an early exit: answered now, or the supervisor
    // (which grants the retry only once its operation ends) would wait on
    // a process that waits on it.
    const bool waits = current_.status == process_status::starting ||
                       (current_.status == process_status::backoff &&
                        current_.version == before);
    if (!waits) return before;
    auto promise = make_response_promise<std::uint64_t>();
    pending_starts_.emplace_back(std::move(promise), before);
    return pending_starts_.back().first;
  }

  void deliver_pending_starts() {
    auto pending = std::move(pending_starts_);
    pending_starts_.clear();
    for (auto& [promise, before] : pending) promise.deliver(before);
  }

  void restart() {
    if (!has_child()) return start_fresh();
    restart_when_stopped_ = true;
    stop();
  }

  /// A start command: from a resting state spawn now; in backoff, after the
  /// pending delay.
  void start() {
    switch (current_.status) {
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

  void start_fresh() {
    quick_failures_ = 0;
    backoff_.reset();
    spawn();
  }

  /// Spawns once the backoff delay, counted from the exit (or failed
  /// spawn) that caused it, has passed: a supervisor that waited it out
  /// already gets a spawn at once.
  void arm_spawn_timer() {
    ++generation_;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        backoff_since_ + pending_delay_ - clock::now());
    if (left.count() <= 0) return spawn();
    arm_timer(left, run_event::spawn_due);
  }

  void spawn() {
    // One cgroup per program where the runtime has a tree: it holds every
    // descendant, setsid daemons included ("" = process groups only).
    if (cgroups_ && cgroup().empty())
      spec_.launch.cgroup = cgroups_->create_program(id());
    auto result = os::launch(spec_.launch, guardian_);
    restart_trace::mark(restart_trace::point::launched);
    if (auto* error = std::get_if<os::launch_error>(&result))
      return on_spawn_failure(*error);
    auto& child = std::get<os::launched_child>(result);
    const std::uint64_t generation = ++generation_;
    const pid_t pid = child.pid;
    // Owner-side reaping: we keep the pidfd; the I/O thread only tells us
    // when it becomes readable. Until we reap, pid and group id stay ours.
    pidfd_ = std::move(child.pidfd);
    if (guardian_) guardian_->watch_group(pid);
    auto self = caf::actor_cast<caf::actor>(this);
    capture_output(child);
    if (child.notify_pipe)
      io_.watch_ready(std::move(child.notify_pipe), [self, generation] {
        caf::anon_send(self, run_event_atom::value,
                       static_cast<int>(run_event::ready), generation, 0);
      });
    errno = 0;
    const bool watched =
        io_.notify_exit(pidfd_, [self, generation](int watch_error) {
          restart_trace::mark(restart_trace::point::exit_seen);
          caf::anon_send(self, run_event_atom::value,
                         static_cast<int>(run_event::exited), generation,
                         watch_error);
        });
    const int watch_errno = watched ? 0 : (errno != 0 ? errno : ESHUTDOWN);
    const bool ready_at_once =
        spec_.startsecs.count() == 0 && spec_.launch.notify_fd < 0;
    publish([&](process_state& s) {
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

  void capture_output(os::launched_child& child) {
    auto sink_for = [&](const os::stdio_target& target) {
      auto& sink = sinks_[target.path];
      if (!sink)
        sink = std::make_shared<os::log_sink>(target.path, spec_.logs.max_bytes,
                                              spec_.logs.backups);
      return sink;
    };
    if (child.stdout_pipe)
      io_.capture(std::move(child.stdout_pipe),
                  sink_for(spec_.launch.stdout_target));
    if (child.stderr_pipe)
      io_.capture(std::move(child.stderr_pipe),
                  sink_for(spec_.launch.stderr_target));
  }

  void on_spawn_failure(const os::launch_error& error) {
    const bool retry =
        !is_permanent(error.code) && ++quick_failures_ <= spec_.startretries;
    if (retry) {
      pending_delay_ = backoff_.next();
      backoff_since_ = clock::now();
    }
    publish([&](process_state& s) {
      s.pid = 0;
      s.status = retry ? process_status::backoff : process_status::failed;
      s.spawn_errno = error.code;
      s.spawn_error_storage = std::make_shared<const std::string>(error.what);
    });
    report(retry);
  }

  void become_running() {
    quick_failures_ = 0;
    set_status(process_status::running);
  }

  // -- exits ------------------------------------------------------------------

  /// Signals the child's process group through its pidfd. Only called while
  /// the child is not reaped, so no signal can reach a reused pid or group.
  int signal_child(int sig) {
    return os::signal_leader_group(pidfd_.get(), current_.pid, sig);
  }

  /// Stop and kill timer: the group and, without a cgroup, the setsid
  /// descendants still below the leader. With a cgroup, those get SIGKILL
  /// from cgroup.kill (at the kill timer, and when the leader exits).
  void signal_program(int sig) {
    // Escaped descendants first: once the group's shell has died they are
    // re-parented away and no longer found below the leader.
    if (cgroup().empty()) os::signal_escaped_descendants(current_.pid, sig);
    signal_child(sig);
    if (!cgroup().empty() && sig == SIGKILL) kill_cgroup();
  }

  /// cgroup.kill of this program's cgroup. Children are born into it
  /// (CLONE_INTO_CGROUP) only until its first kill: see
  /// os::launch_options::cgroup_killed.
  void kill_cgroup() {
    cgroups_->kill_program(id());
    spec_.launch.cgroup_killed = true;
  }

  /// SIGKILL to the group and, with a cgroup, to every descendant that is
  /// still alive (a cgroup with none needs no cgroup.kill, and stays one
  /// that children can be born into).
  void kill_everything() {
    signal_child(SIGKILL);
    if (cgroups_ && !cgroup().empty() && cgroups_->program_populated(id()))
      kill_cgroup();
  }

  /// The pidfd is readable: the child exited. While its zombie still holds
  /// the group id, kill what is left of the group (and the cgroup: setsid
  /// daemons too), then reap it through the pidfd.
  void reap_and_report() {
    const auto status = take_child();
    restart_trace::mark(restart_trace::point::reaped);
    on_exit(status);
    restart_trace::mark(restart_trace::point::reported);
  }

  core::termination take_child() {
    kill_everything();
    if (guardian_) guardian_->forget_group(current_.pid);
    auto status = os::reap_child(current_.pid, pidfd_.get());
    // Readable means exited; the blocking form only covers a kernel that
    // reports readability early (it cannot wait long: we sent SIGKILL).
    if (!status) status = os::reap_child_blocking(current_.pid, pidfd_.get());
    pidfd_.reset();
    return *status;
  }

  /// The exit watch could not be registered: never leave the child
  /// `running` unwatched. Kill and reap it, then publish the error (a
  /// failed state, or backoff when the error may pass, as for a spawn).
  void on_watch_failure(int error) {
    const bool was_stopping = current_.status == process_status::stopping;
    const auto ended = take_child();
    if (was_stopping) return on_exit(ended);
    os::launch_error failure;
    failure.code = error;
    failure.what = "watch the exit of " + spec_.launch.argv.front() + ": " +
                   std::strerror(error);
    on_spawn_failure(failure);
  }

  void on_exit(const core::termination& ended) {
    const auto now = clock::now();
    const bool was_stopping = current_.status == process_status::stopping;
    const bool was_quick = current_.status == process_status::starting;
    if (now - current_.started_at >= spec_.backoff.reset_after)
      backoff_.reset();

    if (was_stopping) {
      publish([&](process_state& s) {
        s.pid = 0;
        s.status = process_status::stopped;
        s.last_exit = ended;
        s.ended_at = now;
      });
      return on_stopped();
    }

    bool restart = wants_restart(ended);
    process_status next = process_status::exited;
    if (restart) {
      quick_failures_ = was_quick ? quick_failures_ + 1 : 0;
      if (quick_failures_ > spec_.startretries) {
        restart = false;
        next = process_status::failed;
      } else if (spec_.restart_limit.enabled() && !restart_window_.admit(now)) {
        restart = false;  // past its own restart limit: it alone fails
        next = process_status::failed;
      } else {
        next = process_status::backoff;
        pending_delay_ = backoff_.next();
        backoff_since_ = now;
      }
    }
    publish([&](process_state& s) {
      s.pid = 0;
      s.status = next;
      s.last_exit = ended;
      s.ended_at = now;
      if (restart) ++s.restart_count;
    });
    report(restart);
  }

  bool wants_restart(const core::termination& ended) const {
    switch (spec_.restart) {
      case restart_policy::permanent:
        return true;
      case restart_policy::temporary:
        return false;
      case restart_policy::transient:
        // A signal or a lost status is never an expected exit.
        if (ended.how != core::termination::kind::exited) return true;
        return std::find(spec_.expected_exit_codes.begin(),
                         spec_.expected_exit_codes.end(),
                         ended.value) == spec_.expected_exit_codes.end();
    }
    return false;
  }

  void report(bool restart_wanted) {
    if (!supervisor_) return;
    child_report r;
    r.restart_wanted = restart_wanted;
    r.version = current_.version;
    r.exit = current_.spawn_errno != 0
                 ? "spawn failed: " + std::string{current_.spawn_error()}
                 : core::describe(current_.last_exit);
    if (restart_wanted)
      r.delay = std::max(std::chrono::milliseconds{0},
                         std::chrono::ceil<std::chrono::milliseconds>(
                             backoff_since_ + pending_delay_ - clock::now()));
    send(supervisor_, child_event_atom::value, std::move(r));
  }

  // -- stopping ---------------------------------------------------------------

  /// Sends `sig` (the spec's stop_signal unless killing), SIGKILL after
  /// stop_timeout; answers once the child is reaped.
  caf::result<caf::ok_atom> stop() { return stop(spec_.stop_signal); }

  caf::result<caf::ok_atom> stop(int sig) {
    switch (current_.status) {
      case process_status::starting:
      case process_status::running: {
        signal_program(sig);
        set_status(process_status::stopping);
        arm_timer(spec_.stop_timeout, run_event::kill_due);
        [[fallthrough]];
      }
      case process_status::stopping: {
        auto promise = make_response_promise<caf::ok_atom>();
        pending_stops_.push_back(promise);
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

  void on_stopped() {
    if (quit_when_stopped_) leave_last_state();  // before shutdown's reply
    // Before the replies: once the runtime has them it may free the tree.
    // EBUSY (members still dying) is fine: the runtime removes the tree.
    if (quit_when_stopped_ && cgroups_ && !cgroup().empty())
      cgroups_->remove_program(id());
    for (auto& promise : pending_stops_) promise.deliver(caf::ok_atom::value);
    pending_stops_.clear();
    if (quit_when_stopped_) return quit();
    if (restart_when_stopped_) {
      restart_when_stopped_ = false;
      start_fresh();
    }
  }

  std::shared_ptr<process_record> record_;
  process_spec spec_;
  os::io_service& io_;
  os::guardian* guardian_;    // may be null
  os::cgroup_tree* cgroups_;  // may be null
  const bool publishes_;      // the read policy reads what is published
  /// runtime::publications(), in the runtime, which outlives its actors.
  publication_counter* publications_;
  os::unique_fd pidfd_;  // the child's, until we reap it
  caf::actor supervisor_;
  core::backoff backoff_;
  core::restart_window restart_window_;  ///< spec_.restart_limit
  process_state current_;
  /// Under a policy that asks the actor, the history it publishes only as
  /// it quits; null (and the record's cell holds it) otherwise.
  std::unique_ptr<core::transition_history> unpublished_history_;
  std::uint64_t generation_ = 0;
  unsigned quick_failures_ = 0;
  std::chrono::milliseconds pending_delay_{0};
  clock::time_point backoff_since_{};  ///< when pending_delay_ began
  std::uint64_t applied_ticket_ = 0;   ///< last handle command applied
  /// Supervisor starts waiting for the process to leave `starting`, with
  /// the version from before each.
  std::vector<
      std::pair<caf::typed_response_promise<std::uint64_t>, std::uint64_t>>
      pending_starts_;
  bool restart_when_stopped_ = false;
  bool quit_when_stopped_ = false;
  std::vector<caf::typed_response_promise<caf::ok_atom>> pending_stops_;
  std::vector<caf::actor> subscribers_;
  std::map<std::string, std::shared_ptr<os::log_sink>> sinks_;
};

}  // namespace

caf::actor spawn_process_actor(caf::actor_system& system,
                               std::shared_ptr<process_record> record,
                               process_spec spec,
                               const runtime_context& context,
                               caf::actor supervisor) {
  return system.spawn<process_actor>(std::move(record), std::move(spec),
                                     context, std::move(supervisor));
}

}  // namespace vitrine::detail
