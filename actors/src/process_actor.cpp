#include "process_actor.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <map>
#include <vector>

#include "atoms.hpp"
#include "child_report.hpp"
#include "vitrine/core/backoff.hpp"
#include "vitrine/core/restart_window.hpp"
#include "vitrine/os/log_sink.hpp"
#include "vitrine/os/signals.hpp"

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
                os::io_service& io, caf::actor supervisor)
      : caf::event_based_actor(config),
        record_(std::move(record)),
        spec_(std::move(spec)),
        io_(io),
        supervisor_(std::move(supervisor)),
        backoff_(spec_.backoff, std::hash<std::string>{}(spec_.name)),
        restart_window_(spec_.restart_limit.burst,
                        spec_.restart_limit.interval),
        current_(record_->state.current_unsafe()) {}

  caf::behavior make_behavior() override {
    return {
        // A supervisor's start. Replies with the state version from before
        // the start once the process left `starting` (running, or an exit):
        // a supervisor starts the next child only then. Exit reports of this
        // run carry later versions, so the supervisor can drop older ones.
        [this](start_atom) { return start_for_supervisor(false); },
        // The same for a sibling a supervisor restarts (one_for_all,
        // rest_for_one): counts as a restart of this process too.
        [this](start_atom, bool counted) {
          return start_for_supervisor(counted);
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
        [this](stop_atom) -> caf::result<caf::ok_atom> {
          count();
          return stop();
        },
        [this](resume_atom) {
          count();
          if (current_.status == process_status::backoff) arm_spawn_timer();
        },
        [this](restart_atom) {
          count();
          restart();
        },
        [this](signal_atom, int sig) {
          count();
          return has_child() ? os::signal_group(current_.pid, sig) : ESRCH;
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
        [this](child_exit_atom, std::uint64_t generation, int how, int code,
               bool unknown) {
          count();
          if (generation == generation_) on_exit(how, code, unknown);
        },
        [this](ready_atom, std::uint64_t generation) {
          count();
          if (generation == generation_ &&
              current_.status == process_status::starting)
            become_running();
        },
        [this](up_timer_atom, std::uint64_t generation) {
          count();
          if (generation == generation_ &&
              current_.status == process_status::starting)
            become_running();
        },
        [this](kill_timer_atom, std::uint64_t generation) {
          count();
          if (generation == generation_ &&
              current_.status == process_status::stopping)
            os::signal_group(current_.pid, SIGKILL);
        },
        [this](spawn_timer_atom, std::uint64_t generation) {
          count();
          if (generation == generation_ &&
              current_.status == process_status::backoff)
            spawn();
        },
    };
  }

  void on_exit() override {
    // Break handle cycles so actors are freed after quitting.
    supervisor_ = nullptr;
    subscribers_.clear();
  }

 private:
  void count() {
    record_->messages_handled.store(
        record_->messages_handled.load(std::memory_order_relaxed) + 1,
        std::memory_order_relaxed);
  }

  bool has_child() const { return current_.pid != 0; }

  template <class Mutate>
  void publish(Mutate mutate) {
    process_state next = current_;
    mutate(next);
    next.version = current_.version + 1;
    next.applied_command = applied_ticket_;
    current_ = next;
    history_.push(
        {next.version, next.status, next.pid, next.last_exit, clock::now()});
    if (record_->mode == read_mode::hybrid) {
      // History first: a reader that sees (or waited for) this state then
      // finds it in the history too. The state's release store orders the
      // history publish before it; the other order left readers (and
      // wait_for_status callers) with a history one transition behind.
      record_->history.publish(history_);
      record_->state.publish(std::move(next));
    }
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

  caf::result<std::uint64_t> start_for_supervisor(bool counted) {
    count();
    const std::uint64_t before = current_.version;
    if (counted) publish([](process_state& s) { ++s.restart_count; });
    start();
    if (current_.status != process_status::starting &&
        current_.status != process_status::backoff)
      return before;
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
    delayed_send(this, left, spawn_timer_atom::value, generation_);
  }

  void spawn() {
    auto result = os::launch(spec_.launch);
    if (auto* error = std::get_if<os::launch_error>(&result))
      return on_spawn_failure(*error);
    auto& child = std::get<os::launched_child>(result);
    const std::uint64_t generation = ++generation_;
    const pid_t pid = child.pid;
    auto self = caf::actor_cast<caf::actor>(this);
    capture_output(child);
    if (child.notify_pipe)
      io_.watch_ready(std::move(child.notify_pipe), [self, generation] {
        caf::anon_send(self, ready_atom::value, generation);
      });
    // The I/O thread SIGKILLs what is left of the child's process group
    // (e.g. a daemonized grandchild) before reaping it.
    io_.watch_exit(
        child,
        [self, generation](os::exit_status status) {
          caf::anon_send(self, child_exit_atom::value, generation,
                         static_cast<int>(status.how), status.code,
                         status.unknown);
        },
        /*kill_group=*/true);
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
      delayed_send(this, spec_.startsecs, up_timer_atom::value, generation);
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

  void on_exit(int how, int code, bool unknown) {
    core::termination ended;
    if (!unknown) {
      ended.how = how == static_cast<int>(os::exit_status::kind::signaled)
                      ? core::termination::kind::signaled
                      : core::termination::kind::exited;
      ended.value = code;
    }
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

    bool restart = wants_restart(ended, unknown);
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

  bool wants_restart(const core::termination& ended, bool unknown) const {
    switch (spec_.restart) {
      case restart_policy::permanent:
        return true;
      case restart_policy::temporary:
        return false;
      case restart_policy::transient:
        if (unknown || ended.how != core::termination::kind::exited)
          return true;
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

  caf::result<caf::ok_atom> stop() {
    switch (current_.status) {
      case process_status::starting:
      case process_status::running: {
        os::signal_group(current_.pid, spec_.stop_signal);
        set_status(process_status::stopping);
        delayed_send(this, spec_.stop_timeout, kill_timer_atom::value,
                     generation_);
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
  caf::actor supervisor_;
  core::backoff backoff_;
  core::restart_window restart_window_;  ///< spec_.restart_limit
  process_state current_;
  core::transition_history history_;
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
                               process_spec spec, os::io_service& io,
                               caf::actor supervisor) {
  return system.spawn<process_actor>(std::move(record), std::move(spec), io,
                                     std::move(supervisor));
}

}  // namespace vitrine::detail
