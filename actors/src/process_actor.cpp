#include "process_actor.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <map>
#include <vector>

#include "atoms.hpp"
#include "status_table_writer.hpp"
#include "vitrine/core/backoff.hpp"
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
        current_(record_->state.current_unsafe()) {}

  caf::behavior make_behavior() override {
    return {
        // Replies with the state version from before the start: exit
        // reports of this run (even a spawn failure during the start itself)
        // carry later versions, so the supervisor can drop older ones.
        [this](start_atom) {
          count();
          const std::uint64_t before = current_.version;
          start();
          return before;
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
          if (!has_child()) return start_fresh();
          restart_when_stopped_ = true;
          stop();
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
    if (record_->status_table) record_->status_table->publish(current_);
    for (const auto& s : subscribers_)
      send(s, state_changed_atom::value, current_);
  }

  void set_status(process_status status) {
    publish([&](process_state& s) { s.status = status; });
  }

  // -- starting ---------------------------------------------------------------

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
      default:
        break;  // already starting, running or stopping
    }
  }

  void start_fresh() {
    quick_failures_ = 0;
    backoff_.reset();
    spawn();
  }

  void arm_spawn_timer() {
    ++generation_;
    if (pending_delay_.count() == 0) return spawn();
    delayed_send(this, pending_delay_, spawn_timer_atom::value, generation_);
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
    if (retry) pending_delay_ = backoff_.next();
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
      } else {
        next = process_status::backoff;
        pending_delay_ = backoff_.next();
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
    if (supervisor_)
      send(supervisor_, child_event_atom::value, restart_wanted,
           current_.version);
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
  process_state current_;
  core::transition_history history_;
  std::uint64_t generation_ = 0;
  unsigned quick_failures_ = 0;
  std::chrono::milliseconds pending_delay_{0};
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
