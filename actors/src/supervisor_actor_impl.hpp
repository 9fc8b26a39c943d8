// supervisor_actor_impl: the supervisor actor's class, shared by the files
// that define it: supervisor_actor.cpp (messages, state, building
// children), supervisor_operations.cpp (the operation queue and its steps),
// supervisor_changes.cpp (child changes from handles) and
// supervisor_restarts.cpp (restart strategies and escalation). Internal to
// the actors/ library: others spawn it with spawn_supervisor_actor()
// (supervisor_actor.hpp), which also describes its messages.
//
// Threads: like any CAF actor, its members run on one CAF worker at a
// time; nothing here is shared with other threads except through messages
// and the records it publishes.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "child_change_request.hpp"
#include "child_report.hpp"
#include "subscriber_list.hpp"
#include "supervisor_actor.hpp"
#include "supervisor_operation.hpp"
#include "vitrine/core/restart_window.hpp"
#include "vitrine/core/supervisor_state.hpp"

namespace vitrine::detail {

class supervisor_actor final : public caf::event_based_actor {
 public:
  using clock = std::chrono::steady_clock;
  using supervisor_status = core::supervisor_status;

  supervisor_actor(caf::actor_config& config,
                   std::shared_ptr<supervisor_record> record,
                   supervisor_spec spec, const runtime_context& context,
                   caf::actor parent);

  caf::behavior make_behavior() override;

  void on_exit() override;

 private:
  /// 56 bytes: one per supervised process. The name is its record's.
  struct child {
    caf::actor actor;
    bool autostart = true;
    /// Never restarted, not even with a sibling (OTP: a temporary child a
    /// one_for_all or rest_for_one restart stops stays stopped).
    bool temporary = false;
    std::uint64_t started_version = 0;  ///< its version before our last start
    /// Its record (one of them), to forget it when it is removed.
    std::shared_ptr<process_record> process{};
    std::shared_ptr<supervisor_record> supervisor{};

    bool is_supervisor() const noexcept { return supervisor != nullptr; }
    const std::string& name() const noexcept {
      return supervisor ? *supervisor->name : *process->name;
    }
  };

  /// A report from a child, by actor: indices shift when a child is removed.
  struct pending_report {
    caf::actor from;
    child_report report;
  };

  /// The index of the child `who`, or children_.size().
  std::size_t index_of(const caf::actor& who) const;
  std::size_t index_of(const std::string& name) const;

  void publish(supervisor_status status,
               std::shared_ptr<const core::supervisor_failure> failure = {});

  // -- building children ------------------------------------------------------

  std::shared_ptr<process_record> make_process(process_spec spec);

  /// A process added after the start; nullptr if its name is taken.
  std::shared_ptr<process_record> add_process(process_spec spec);

  /// Removes a process child whose name another registered first, and
  /// kills its actor (never started).
  void drop_unregistered(std::vector<child>::iterator it);

  /// A child supervisor (not started); nullptr if its name is taken.
  std::shared_ptr<supervisor_record> add_supervisor(supervisor_spec spec);

  /// Spawns the actors of the spec's children and registers all their
  /// processes in one registry revision.
  void build_children_once();

  // -- operations -------------------------------------------------------------

  /// Queues `op`. A stop cancels the start and restart operations queued or
  /// running (their `done` runs with false) and runs after a running stop;
  /// the runtime's shutdown cancels them at once.
  void enqueue_operation(operation op);

  /// Runs operations until one waits for a reply or a timer; when none is
  /// left, hands the reports that arrived meanwhile to on_child_event
  /// (which may queue a restart). Iterative: replies re-enter here through
  /// the mailbox.
  void pump();

  /// Publishes `shutting_down` unless that, `failed` or `stopped` is the
  /// status: a failed or stopped supervisor has stopped its children
  /// already, and it stays as it is through a stop (a failed one with its
  /// reason). A child started by its own command since still runs: the
  /// stop's steps stop it, and its own states say so.
  void announce_shutdown();

  /// At the start of a stop of every child: each process child in its
  /// backoff stops there, and one held for a restart is released (deny 0).
  void stop_restarts_of_children();

  /// The front operation's step waits for a start's reply (a child runs,
  /// ended, or under one_for_one went to a backoff).
  bool waits_for_start() const;

  /// The front operation's step waits for child i to start.
  bool step_starts(std::size_t i) const;

  /// Issues the front operation's current step again; the reply the first
  /// issue waits for is ignored.
  void restart_step();
  /// What an outside cancellation of an operation calls (any thread):
  /// tells this actor (cancelled_atom), if it still lives.
  std::function<void()> waker() const;
  /// The front operation was cancelled from outside while a step waits:
  /// that step no longer holds it (on_cancelled drops its reply).
  void on_cancelled();

  /// Issues steps of the front operation until one waits (true), or
  /// finishes it (false).
  bool run_front();

  /// One reply (or timer) a step of generation `generation` waited for
  /// has come: the operation goes on once none is outstanding. Only here:
  /// a pump() for another reason (a child report, a queued operation) must
  /// not issue the next step while one is still in flight.
  void step_done(std::uint64_t generation);

  /// Sends one step's request (a start carries `cancel`); true (with
  /// outstanding_ set to the replies awaited) if the operation must wait.
  bool issue(const step& s, const std::stop_token& cancel);

  /// Asks child i to start; false (nothing sent) for a child that is not
  /// started automatically: later restarts do start it. A process child
  /// learns whether the start is `fresh` (step::fresh); a supervisor child
  /// starts all of its own children fresh anyway.
  /// Asks child i to stop (`and_quit`: and quit); returns the replies
  /// to wait for (1).
  template <class Resume>
  std::size_t request_stop(std::size_t i, bool and_quit, Resume resume);

  template <class Resume>
  bool request_start(std::size_t i, bool fresh, const std::stop_token& cancel,
                     Resume resume);

  using done_fn = std::function<void(bool)>;

  caf::result<std::uint64_t> start_with_reply(const std::stop_token& cancel);
  /// A start or stop from a handle (command_kind), with its ticket.
  void on_command(std::uint64_t ticket, int kind);

  caf::result<caf::ok_atom> stop_with_reply(bool quit_after,
                                            bool forget = false);

  /// Starts every child in order with a fresh restart window.
  operation start_all(done_fn done);

  operation start_child(caf::actor which, done_fn done);

  /// Appends the step that starts child i, or only stops it while we are
  /// not running or once the step's operation is cancelled.
  void push_start_or_stop(std::vector<step>& steps, std::size_t i);

  /// Stops every child in reverse order (shutdown: and quits them, then
  /// itself).
  operation stop_all(bool quit_after, done_fn done, bool forget = false);

  // -- child changes from handles (OTP's start_child, terminate_child and
  // delete_child; see supervisor_handle.hpp) ---------------------------------

  /// One operation that survives stops, as an OTP supervisor handles one
  /// call at a time: it never interleaves with a start, stop or restart.
  operation change_children(std::shared_ptr<change_request> request);

  void refuse(change_request& request, change_outcome outcome, std::string why);

  void begin_add(const std::shared_ptr<change_request>& request,
                 std::vector<step>& steps);

  void begin_remove(const std::shared_ptr<change_request>& request,
                    std::vector<step>& steps);

  /// Removes the old child, puts the new one at its index, starts it if
  /// this supervisor runs (decided now: no other operation runs meanwhile).
  void begin_replace(const std::shared_ptr<change_request>& request,
                     std::vector<step>& steps);

  /// The steps that stop, quit and forget the request's child, then erase
  /// it and run `then(index)` (which may put a child there; false ends
  /// the operation); returns the child's index, or children_.size() after
  /// refusing a request for an unknown name.
  template <class Then>
  std::size_t remove_then(const std::shared_ptr<change_request>& request,
                          std::vector<step>& steps, Then then);

  std::string no_child(const std::string& name) const;

  /// Appends the request's child (not started); false, refusing the
  /// request, if its name is taken among this supervisor's children or a
  /// process name of it is supervised.
  bool place_child(change_request& request);

  /// Stops and quits child `c` (a nested supervisor: its whole tree, which
  /// it forgets), then forgets `c` and resumes the operation.
  void remove_child_tree(const child& c, std::function<void()> resume);

  // -- restarts ---------------------------------------------------------------

  bool active() const { return current_.status == supervisor_status::running; }
  /// A stop (or shutdown, or removal) of every child is under way.
  bool stopping() const {
    return !queue_.empty() && queue_.front().is_stop && queue_.front().begun;
  }

  /// one_for_all and rest_for_one: a child that gave up fails us.
  bool needs_every_child() const {
    return spec_.strategy != restart_strategy::one_for_one;
  }

  /// A report from child i while a step starts it: the start failed. A
  /// retry wanted is granted now, counted as a restart (or failing us past
  /// the intensity), and the step waits on for the child to run; a child
  /// that gave up fails a one_for_all or rest_for_one supervisor, and under
  /// one_for_one the step goes on without it.
  void on_failed_start(std::size_t i, child_report report);

  /// A report from child i, handled when no operation runs, or beside one
  /// (restarts_beside_operation). `version` is the child's state version
  /// when it reported: a report not newer than the version the child had
  /// before our last start of it is stale (a restart sequence already
  /// replaced that run while it waited).
  void on_child_event(std::size_t i, child_report report);

  /// Under one_for_one, a restart wanted by child i while an operation runs
  /// that has no step left for i (a start in order past it, a change of
  /// other children): that restart is i's alone and cannot interleave with
  /// the operation, so it is handled now, not behind the operation (behind
  /// a later child's startsecs, as an outside review found). Not one that
  /// would exceed the intensity: failing waits for the operation.
  bool restarts_beside_operation(std::size_t i,
                                 const child_report& report) const;

  /// Stops children [from, end) in reverse order except the exited ones
  /// (in backoff), then starts [from, end) in spec order, each once the
  /// previous one runs, and each delay's starts no earlier than its end;
  /// temporary children stay stopped.
  operation restart_from(std::size_t from, std::vector<restart_delay> delays);

  /// Under rest_for_one, a restart wanted by child i while a restart of
  /// later children runs (waiting out a backoff, or starting them)
  /// supersedes it: the children it covers are i's restart's too.
  bool supersedes_restart(std::size_t i, const child_report& report) const;

  /// Counts child i's restart and replaces the running restart with one
  /// from i that keeps the delays not yet passed.
  void take_over_restart(std::size_t i, const child_report& report);

  /// The intensity is exceeded: stop every child (reverse order), publish
  /// `failed` with the reason, and tell the parent (which restarts this
  /// supervisor per its own strategy and intensity if it is permanent).
  void fail(std::size_t i, const child_report& report, clock::time_point now);

  std::shared_ptr<supervisor_record> record_;
  supervisor_spec spec_;
  /// A copy, which stragglers may still use after the runtime's shutdown.
  /// Our process actors refer to this one, holding a strong reference to
  /// us for as long as they use it.
  runtime_context context_;
  caf::actor parent_;
  core::restart_window window_;
  core::supervisor_state current_;
  std::vector<child> children_;
  std::deque<operation> queue_;
  std::deque<pending_report> deferred_;
  subscriber_list subscribers_;
  std::uint64_t generation_ = 0;  ///< of the running step; +1 per cancel
  std::size_t outstanding_ = 0;   ///< replies (or a timer) the step awaits
  std::uint64_t applied_ticket_ = 0;
  std::uint32_t restarts_ = 0;
  bool built_ = false;
  bool start_begun_ = false;  ///< a start of all children ever began
  /// The running step is a stop_if_cancelled step's stop: a cancellation
  /// does not cut it short (it is what a cancelled start leaves).
  bool awaits_stop_in_place_of_start_ = false;
  bool pumping_ = false;
  bool was_failed_ = false;  ///< when the running stop began
  /// From fail() until its stop has ended and the parent was told.
  bool failing_ = false;
  /// A group restart of the parent will start us in our turn (hold):
  /// a handle's start meanwhile is left to that start; after a handle's
  /// stop, that start skips us (skip_held_start_). See on_command.
  bool held_ = false;
  bool skip_held_start_ = false;
  /// The ticket of a handle's start that came while held (0: none):
  /// applied by that start, or by the parent's calling it off, and only
  /// then added to applied_ticket_ (other tickets, an intensity change's,
  /// show meanwhile).
  std::uint64_t held_ticket_ = 0;
  /// Starts by the parent that our failure cut short: answered after the
  /// report (see start_with_reply).
  std::vector<
      std::pair<caf::typed_response_promise<std::uint64_t>, std::uint64_t>>
      replies_after_failure_;
};

}  // namespace vitrine::detail
