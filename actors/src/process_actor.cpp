// The process actor: its messages, its state and how it publishes it
// (process_actor_impl.hpp has the class).
#include <algorithm>
#include <memory>
#include <utility>

#include "command_port.hpp"
#include "process_actor_impl.hpp"
#include "vitrine/messages.hpp"

namespace vitrine::detail {

process_actor::process_actor(caf::actor_config& config,
                             std::shared_ptr<process_record> record,
                             process_spec spec, const runtime_context& context,
                             caf::actor supervisor)
    : caf::event_based_actor(config),
      record_(std::move(record)),
      spec_(spec),
      publishes_(context.reads->reads_published()),
      context_(context),
      supervisor_(std::move(supervisor)),
      backoff_(std::hash<std::string>{}(spec.name)),
      restart_window_(spec.restart_limit.burst, spec.restart_limit.interval) {
  if (!publishes_)
    unpublished_ = std::make_unique<unpublished_run>(
        unpublished_run{process_record::initial_state(record_->name), {}});
}

namespace {

/// The process actor whose message this thread is handling (consume()).
thread_local process_actor* handling = nullptr;

}  // namespace

caf::invoke_message_result process_actor::consume(caf::mailbox_element& x) {
  process_actor* const outer = handling;
  handling = this;
  const auto result = event_based_actor::consume(x);
  handling = outer;
  return result;
}

caf::behavior process_actor::make_behavior() {
  // One behavior for every process actor: its handlers capture nothing and
  // find their actor through `handling`, which consume() sets around each
  // message (the only way a behavior is invoked; a behavior keeps no state
  // of its own while invoked). A behavior of its own cost each process
  // ~530 heap bytes, a sixth of its heap.
  static const caf::behavior shared{
      [](start_atom, bool fresh, bool until_running,
         const std::stop_token& cancel) {
        return handling->on_start(fresh, until_running, cancel);
      },
      [](command_atom, std::uint64_t ticket, int kind) {
        handling->on_command(ticket, static_cast<command_kind>(kind));
      },
      [](deny_atom, std::uint64_t reported_version) {
        handling->on_deny(reported_version);
      },
      [](stop_atom, bool supervisor_resting) {
        return handling->on_stop(supervisor_resting);
      },
      [](resume_atom) { handling->on_resume(); },
      [](hold_atom, bool stops_first) { handling->on_hold(stops_first); },
      [](signal_atom, int sig) { return handling->on_signal(sig); },
      [](shutdown_atom) { return handling->on_shutdown(); },
      [](caf::get_atom) {
        handling->count();
        return handling->current();
      },
      [](republish_atom) {
        if (handling->context_.status_table)
          handling->context_.status_table->publish(handling->current());
      },
      [](subscribe_atom, caf::actor& who) {
        handling->count();
        handling->waiting().subscribers.add(std::move(who));
      },
      [](unsubscribe_atom, const caf::actor& who) {
        handling->count();
        if (!handling->waiters_) return;
        handling->waiters_->subscribers.remove(who);
        handling->release_idle_waiters();
      },
      [](run_event_atom, int event, std::uint64_t generation, int error) {
        handling->on_run_event_message(event, generation, error);
      },
  };
  return shared;
}

// A supervisor's start. Replies with the state version from before the
// start once the process runs or ended (after the report of an exit); with
// `until_running` (a one_for_all or rest_for_one supervisor, whose later
// children depend on this one) not from a backoff before a retry, which
// the supervisor grants within this start: it starts the next child only
// after the reply. Under one_for_one a backoff ends the start, so that a
// child retrying for long holds no other operation of its supervisor. Exit
// reports of this run carry later versions, so the supervisor can drop older
// ones. A sibling a supervisor restarts with it (one_for_all, rest_for_one)
// gets the same: its restart_count counts its own exits only. A fresh start
// (the supervisor starts as a whole, e.g. restarted by its parent) begins a new
// restart-limit window, as a manual start does. A start its supervisor
// cancelled before it got here (a stop came during a parallel start) is
// answered without spawning.
caf::result<std::uint64_t> process_actor::on_start(
    bool fresh, bool until_running, const std::stop_token& cancel) {
  held_ = false;
  supervisor_resting_ = false;
  // A handle's start or restart held until now is applied with this start
  // (or settled by its cancellation): its ticket goes with what follows.
  const bool ticket_was_held = ticket_held_;
  ticket_held_ = false;
  // A stop or kill from a handle while the restart that starts us held us
  // (on_hold): we stay stopped, as if that command had come after it.
  const bool stopped_by_command = skip_held_start_;
  skip_held_start_ = false;
  if (cancel.stop_requested() || stopped_by_command) {
    count();
    if (ticket_was_held) publish([](process_state&) {});
    return current().version;
  }
  if (fresh) restart_window_.clear();
  start_until_running_ = until_running;
  return start_for_supervisor();
}

// A command from a handle, applied and then published with its ticket. A
// manual start or restart begins a fresh restart-limit window, and (as in
// OTP) a supervisor does not count it.
void process_actor::on_command(std::uint64_t ticket, command_kind kind) {
  count();
  applied_ticket_ = std::max(applied_ticket_, ticket);
  const std::uint64_t before = current().version;
  // Held by its supervisor's restart (on_hold), the latest command says
  // whether that restart's start of it, in spec order, is carried out; a
  // start or restart is applied by that start, and its ticket published
  // then (a stop or kill is applied now, its ticket at once).
  if (held_) {
    skip_held_start_ = kind == command_kind::stop || kind == command_kind::kill;
    ticket_held_ = !skip_held_start_;
  }
  switch (kind) {
    case command_kind::start:
      restart_window_.clear();
      if (!held_) start();
      break;
    case command_kind::stop:
      restart_when_stopped_ = false;  // the latest command wins
      stop();
      break;
    case command_kind::restart:
      restart_window_.clear();
      if (!held_)
        restart();
      else if (!held_stops_first_)
        stop();  // a start of the supervisor's starts it again in its turn
      break;
    case command_kind::kill:
      restart_when_stopped_ = false;
      // Stopping, as for stop() (the exit is no crash), with SIGKILL as the
      // only signal (also when a stop was under way).
      if (current().status == process_status::stopping) signal_program(SIGKILL);
      stop(SIGKILL);
      break;
  }
  if (current().version == before && !ticket_held_)
    publish([](process_state&) {});
}

// The supervisor is not running (stopped or failed: this process was
// started by hand) and will not restart it: it ends `exited`, as if its
// policy had not wanted the restart (unless something happened since it
// asked), and later exits do so at once (supervisor_resting_); the
// restart it wanted is not counted (restart_due_ goes with the next start,
// a fresh one). reported_version 0:
// the supervisor is stopping its children, and this one in backoff
// (granted a restart or not) is stopped there, as its stop step would,
// before a sibling's stop_timeout lets its spawn timer fire.
void process_actor::on_deny(std::uint64_t reported_version) {
  count();
  if (reported_version == 0) {
    held_ = skip_held_start_ = false;  // nothing starts it now
    // A start or restart held for it is settled by this stop.
    const bool ticket_was_held = ticket_held_;
    ticket_held_ = false;
    if (current().status != process_status::backoff) {
      if (ticket_was_held) publish([](process_state&) {});
      return;
    }
    ++generation_;  // cancels a pending spawn timer
    return set_status(process_status::stopped);
  }
  supervisor_resting_ = true;
  if (current().status == process_status::backoff &&
      current().version == reported_version) {
    ++generation_;  // cancels a pending spawn timer
    set_status(process_status::exited);
  }
}

// A supervisor's stop (a stop, restart or failure of its tree) is the
// latest word: a restart or start command still waiting for the reap does
// not bring the process back behind its back.
caf::result<caf::ok_atom> process_actor::on_stop(bool supervisor_resting) {
  count();
  restart_when_stopped_ = false;
  supervisor_resting_ = supervisor_resting;
  // Not held for a start of the supervisor's (a group restart starts it
  // again): the supervisor stops it for good, which settles every command
  // a handle sent before, as a later command does (it takes a ticket of
  // its own). A `ctl restart` whose start this stop called off ends then,
  // instead of at its deadline.
  if (!held_)
    if (const auto port = record_->port.load())
      applied_ticket_ = std::max(applied_ticket_, port->next_ticket());
  return stop();
}

// A start of the supervisor's begins that will start this process in its
// turn: a one_for_all or rest_for_one restart (`stops_first`: after
// stopping it, or after its own backoff), or a start of every child in
// order. A start or restart from a handle meanwhile would run it ahead of
// what it depends on, and a stop from a handle must not be undone by that
// start. Ends with that start, or a deny 0 (the supervisor stops).
void process_actor::on_hold(bool stops_first) {
  count();
  held_ = true;
  held_stops_first_ = stops_first;
  skip_held_start_ = false;
}

void process_actor::on_resume() {
  restart_trace::mark(restart_trace::point::grant_received);
  count();
  if (current().status == process_status::backoff) arm_spawn_timer();
}

int process_actor::on_signal(int sig) {
  count();
  return has_child() ? signal_child(sig) : ESRCH;
}

caf::result<caf::ok_atom> process_actor::on_shutdown() {
  count();
  restart_when_stopped_ = false;  // as on_stop: the latest word
  quit_when_stopped_ = true;
  return stop();
}

// One handler for the events of a run: stale ones (a timer armed before a
// stop, a readiness after an exit) are dropped here.
void process_actor::on_run_event_message(int event, std::uint64_t generation,
                                         int error) {
  if (event == static_cast<int>(run_event::exited))
    restart_trace::mark(restart_trace::point::exit_received);
  count();
  if (generation == generation_)
    on_run_event(static_cast<run_event>(event), error);
}

void process_actor::on_exit() {
  leave_last_state();
  // Quitting with a child still running (an abnormal exit): kill and reap
  // it here, nobody else will.
  if (has_child()) take_child();
  // Its capture files now: the actor object may outlive its exit (a timer
  // still pending, a kill timer up to stop_timeout, keeps it), their
  // descriptors should not. The I/O thread keeps a sink until its pipe
  // closes.
  sinks_.reset();
  // Break handle cycles so actors are freed after quitting; the supervisor
  // last: context_ is its.
  if (waiters_) waiters_->subscribers.clear();
  supervisor_ = nullptr;
  // No publish follows: waits on its handles end now instead of at their
  // deadlines (the state last, which they wait on).
  record_->history.close();
  record_->state.close();
}

void process_actor::count() {
  record_->messages_handled.store(
      record_->messages_handled.load(std::memory_order_relaxed) + 1,
      std::memory_order_relaxed);
}

void process_actor::on_run_event(run_event event, int error) {
  switch (event) {
    case run_event::exited:
      if (!has_child()) return;
      if (error != 0) return on_watch_failure(error);
      return reap_and_report();
    case run_event::ready:
    case run_event::up:
      if (current().status == process_status::starting) become_running();
      return;
    case run_event::kill_due:
      if (current().status == process_status::stopping) signal_program(SIGKILL);
      return;
    case run_event::spawn_due:
      if (current().status == process_status::backoff) spawn();
      return;
  }
}

void process_actor::arm_timer(std::chrono::milliseconds delay,
                              run_event event) {
  delayed_send(this, delay, run_event_atom::value, static_cast<int>(event),
               generation_, 0);
}

void process_actor::leave_last_state() {
  if (publishes_) return;
  // Left already, unchanged since (on_stopped(), then on_exit()). Before the
  // first, the cells hold their shared defaults (process_record).
  if (record_->state.publications() != 0 &&
      record_->state.current_unsafe().version == current().version)
    return;
  record_->history.publish(unpublished_->history);
  record_->state.publish(unpublished_->state);
}

process_actor::waiters& process_actor::waiting() {
  if (!waiters_) waiters_ = std::make_unique<waiters>();
  return *waiters_;
}

void process_actor::release_idle_waiters() {
  if (waiters_ && waiters_->empty()) waiters_.reset();
}

void process_actor::set_status(process_status status) {
  publish([&](process_state& s) { s.status = status; });
}

caf::actor spawn_process_actor(caf::actor_system& system,
                               std::shared_ptr<process_record> record,
                               process_spec spec,
                               const runtime_context& context,
                               caf::actor supervisor) {
  return system.spawn<process_actor>(std::move(record), std::move(spec),
                                     context, std::move(supervisor));
}

}  // namespace vitrine::detail
