// process_actor_impl: the process actor's class, shared by the files that
// define it: process_actor.cpp (messages, state, publishing),
// process_start.cpp (spawns, backoff, readiness) and process_exits.cpp
// (exits, reaping, restart reports, stops). Internal to the actors/
// library: others spawn it with spawn_process_actor() (process_actor.hpp),
// which also describes its messages.
//
// Threads: like any CAF actor, its members run on one CAF worker at a
// time; handles read only what it publishes (process_record).
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "atoms.hpp"
#include "packed_spec.hpp"
#include "process_actor.hpp"
#include "publication_counter.hpp"
#include "status_table_writer.hpp"
#include "subscriber_list.hpp"
#include "supervisor_actor.hpp"
#include "vitrine/core/backoff.hpp"
#include "vitrine/core/restart_window.hpp"
#include "vitrine/core/transition_history.hpp"
#include "vitrine/os/cgroup.hpp"
#include "vitrine/os/guardian.hpp"
#include "vitrine/os/launch.hpp"
#include "vitrine/os/log_sink.hpp"
#include "vitrine/os/signals.hpp"
#include "vitrine/restart_trace.hpp"

namespace vitrine::detail {

class process_actor final : public caf::event_based_actor {
 public:
  using clock = std::chrono::steady_clock;
  using process_state = core::process_state;
  using process_status = core::process_status;

  process_actor(caf::actor_config& config,
                std::shared_ptr<process_record> record, process_spec spec,
                const runtime_context& context, caf::actor supervisor);

  caf::behavior make_behavior() override;

  void on_exit() override;

 protected:
  /// Handles one message with `handling` (process_actor.cpp) pointing here.
  caf::invoke_message_result consume(caf::mailbox_element& x) override;
  using event_based_actor::consume;

 private:
  void count();

  // -- messages (make_behavior() says what each does) -------------------------

  caf::result<std::uint64_t> on_start(bool fresh, bool until_running,
                                      const std::stop_token& cancel);
  void on_command(std::uint64_t ticket, command_kind kind);
  void on_deny(std::uint64_t reported_version);
  caf::result<caf::ok_atom> on_stop(bool supervisor_resting);
  void on_resume();
  void on_hold(bool stops_first);
  int on_signal(int sig);
  caf::result<caf::ok_atom> on_shutdown();
  /// A run_event_atom: dropped unless of the current run (`generation`).
  void on_run_event_message(int event, std::uint64_t generation, int error);

  bool has_child() const { return current().pid != 0; }

  /// An event of the current run (run_event_atom).
  void on_run_event(run_event event, int error);

  /// Sends this actor an event of the current run after `delay`.
  void arm_timer(std::chrono::milliseconds delay, run_event event);

  // Under a policy that asks the actor (the messaging baseline) nothing is
  // published while it lives; handles read the record once it is gone, so
  // leave the last state there.
  void leave_last_state();

  /// The state this actor last made: the published snapshot (the actor
  /// keeps no copy of its own, ~100 bytes a process), or under a policy that
  /// asks the actor, the unpublished one. A reference is only good until
  /// the next publish(), which retires the snapshot it points to.
  const process_state& current() const noexcept {
    return publishes_ ? record_->state.current_unsafe() : unpublished_->state;
  }

  template <class Mutate>
  void publish(Mutate mutate) {
    process_state next = current();
    mutate(next);
    next.version = current().version + 1;
    next.applied_command =
        ticket_held_ ? current().applied_command : applied_ticket_;
    // Before anyone can see it: an observer woken by this publish reads the
    // trace at once.
    restart_trace::mark(restart_trace::point::published);
    const auto at = clock::now();
    if (publishes_) {
      // History first (process_record::publish): the other order left
      // readers (and wait_for_status callers) with a history one
      // transition behind. The actor keeps no copy of its own (336 bytes a
      // process).
      record_->publish(std::move(next), at);
    } else {
      unpublished_->history.push(core::transition_of(next, at));
      unpublished_->state = std::move(next);
    }
    const process_state& now = current();
    if (context_.status_table) context_.status_table->publish(now);
    context_.published();
    if (waiters_) {
      for (const auto& s : waiters_->subscribers)
        send(s, state_changed_atom::value, now);
      // A supervisor's start ends once the process runs or ends for good;
      // in backoff it waits on (the supervisor grants the retry within the
      // start). After an exit, report() answers it, after the report.
      if (!waiters_->starts.empty() && !reporting_exit_ &&
          start_ended(now.status))
        deliver_pending_starts();
    }
  }

  void set_status(process_status status);

  // -- starting ---------------------------------------------------------------

  caf::result<std::uint64_t> start_for_supervisor();

  void deliver_pending_starts();

  /// Whether a supervisor's start of this process is over in `status`:
  /// not while it starts, nor while a handle's restart (or a start sent
  /// while stopping) will start it again once reaped, nor
  /// (start_until_running_) in a backoff before a retry.
  bool start_ended(process_status status) const noexcept {
    return status != process_status::starting && !restart_when_stopped_ &&
           (status != process_status::backoff || !start_until_running_);
  }

  void restart();

  /// A start command: from a resting state spawn now; in backoff, after the
  /// pending delay.
  void start();

  void start_fresh();

  /// Spawns once the backoff delay, counted from the exit (or failed
  /// spawn) that caused it, has passed: a supervisor that waited it out
  /// already gets a spawn at once.
  void arm_spawn_timer();

  void spawn();

  void capture_output(os::launched_child& child,
                      const os::launch_options& options);

  /// `restarting`: this spawn was a restart out of a backoff (counted in
  /// the state it publishes, as a successful one is).
  void on_spawn_failure(const os::launch_error& error, bool restarting = false);

  void become_running();

  // -- exits ------------------------------------------------------------------

  /// Signals the child's process group through its pidfd. Only called while
  /// the child is not reaped, so no signal can reach a reused pid or group.
  int signal_child(int sig);

  /// Stop and kill timer: the group and, without a cgroup, the setsid
  /// descendants still below the leader (with `stopping`, kept in
  /// stopped_escapees_ for kill_everything). With a cgroup, those get
  /// SIGKILL from cgroup.kill (at the kill timer, and when the leader
  /// exits).
  void signal_program(int sig, bool stopping = false);

  /// cgroup.kill of this program's cgroup. Children are born into it
  /// (CLONE_INTO_CGROUP) only until its first kill: see
  /// os::launch_options::cgroup_killed.
  void kill_cgroup();

  /// SIGKILL to the group and, with a cgroup, to every descendant that is
  /// still alive (a cgroup with none needs no cgroup.kill, and stays one
  /// that children can be born into); without one, to the escaped
  /// descendants the stop signal reached.
  void kill_everything();

  /// The pidfd is readable: the child exited. While its zombie still holds
  /// the group id, kill what is left of the group (and the cgroup: setsid
  /// daemons too), then reap it through the pidfd.
  void reap_and_report();

  core::termination take_child();

  /// The exit watch could not be registered: never leave the child
  /// `running` unwatched. Kill and reap it, then publish the error (a
  /// failed state, or backoff when the error may pass, as for a spawn).
  void on_watch_failure(int error);

  void on_exit(const core::termination& ended);

  bool wants_restart(const core::termination& ended) const;

  /// Tells the supervisor how the run ended (after its state is
  /// published), then answers a start it waited for if that start is over:
  /// the supervisor hears why a start failed before that it ended.
  void report(bool restart_wanted);
  void send_report(bool restart_wanted);

  // -- stopping ---------------------------------------------------------------

  /// Sends `sig` (the spec's stop_signal unless killing), SIGKILL after
  /// stop_timeout; answers once the child is reaped.
  caf::result<caf::ok_atom> stop() { return stop(spec_.stop_signal); }

  caf::result<caf::ok_atom> stop(int sig);

  void on_stopped();
  /// Removes the program's cgroup now, or once its dying members are gone.
  void remove_cgroup();

  /// What a policy that asks the actor keeps unpublished while it lives.
  struct unpublished_run {
    process_state state;
    core::transition_history history;
  };

  /// Who waits on this actor: rare, so held apart (72 bytes a process
  /// inline) and freed once nobody waits (release_idle_waiters()).
  struct waiters {
    /// Supervisor starts waiting for the process to leave `starting`, with
    /// the version from before each.
    std::vector<
        std::pair<caf::typed_response_promise<std::uint64_t>, std::uint64_t>>
        starts;
    std::vector<caf::typed_response_promise<caf::ok_atom>> stops;
    /// The messaging baseline's subscribers: sent every new state.
    subscriber_list subscribers;

    bool empty() const noexcept {
      return starts.empty() && stops.empty() && subscribers.empty();
    }
  };

  waiters& waiting();
  void release_idle_waiters();

  /// Files that captured output goes to, kept across runs (rotation state);
  /// only programs that capture have them.
  struct output_sinks {
    std::shared_ptr<os::log_sink> out, err;
  };

  std::shared_ptr<process_record> record_;
  /// Its tail padding holds the members that follow, up to
  /// quick_failures_ (packed_spec.hpp).
  [[no_unique_address]] packed_spec spec_;
  const bool publishes_;  // the read policy reads what is published
  bool restart_when_stopped_ : 1 = false;
  bool quit_when_stopped_ : 1 = false;
  /// This program's cgroup exists (the runtime's tree made it at its first
  /// spawn) and its children are placed there; false without a tree.
  bool in_cgroup_ : 1 = false;
  /// cgroup.kill was written to it: see os::launch_options::cgroup_killed.
  bool cgroup_killed_ : 1 = false;
  /// An exit's state is being published: report() answers pending starts.
  bool reporting_exit_ : 1 = false;
  /// The supervisor's last start waits through backoffs (on_start).
  bool start_until_running_ : 1 = false;
  /// A start of the supervisor's will start it (on_hold), and a handle's
  /// stop or kill since then asks to skip that start; that start stops it
  /// first (a group restart) or not (a start of every child).
  bool held_ : 1 = false;
  bool held_stops_first_ : 1 = false;
  bool skip_held_start_ : 1 = false;
  /// A handle's start or restart came while held: it is carried out by
  /// that start, so its ticket is published then (states published
  /// meanwhile keep the applied_command they had), not when it came: a
  /// `ctl start` would see it applied while still `stopped`.
  bool ticket_held_ : 1 = false;
  /// The supervisor stopped it as it stopped or failed itself (not for a
  /// group restart) and has not started it since, or refused it a restart
  /// as not running: started by hand, it runs unsupervised, and an exit
  /// ends `exited`, with no backoff and no restart counted.
  bool supervisor_resting_ : 1 = false;
  /// An exit or a failed spawn wanted a restart: the next spawn out of its
  /// backoff, successful or not, counts it in restart_count (a stop or a
  /// refusal during the backoff does not).
  bool restart_due_ : 1 = false;
  unsigned quick_failures_ = 0;
  /// The supervisor's (io, guardian, cgroups, shutdown token, publication
  /// counter): `supervisor_`, dropped last in on_exit(), keeps it alive.
  const runtime_context& context_;
  caf::actor supervisor_;
  /// Null under a policy that reads what is published (the record's cells
  /// hold the state and the history).
  std::unique_ptr<unpublished_run> unpublished_;
  std::unique_ptr<waiters> waiters_;
  std::unique_ptr<output_sinks> sinks_;
  core::backoff backoff_;  ///< of spec_.backoff
  /// The spec's restart_limit (interval 0: disabled). Its tail padding
  /// holds pidfd_.
  [[no_unique_address]] core::restart_window restart_window_;
  os::unique_fd pidfd_;  // the child's, until we reap it
  /// Without a cgroup: the escaped descendants a stop signal reached
  /// (pidfds), SIGKILLed when the leader exits.
  std::vector<os::escaped_descendant> stopped_escapees_;
  std::uint64_t generation_ = 0;
  std::uint64_t applied_ticket_ = 0;  ///< last handle command applied
  /// When the pending backoff delay ends (counted from the exit or failed
  /// spawn that caused it).
  clock::time_point backoff_until_{};
};

}  // namespace vitrine::detail
