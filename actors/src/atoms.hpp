// The messages vitrine's actors exchange (CAF 0.17 atoms, <= 10 chars).
// Internal to the actors/ library.
#pragma once

#include <caf/all.hpp>

#include <stop_token>

#include "vitrine/messages.hpp"

namespace vitrine::detail {

// Commands (from handles, supervisors, the runtime).
/// (start, [fresh,] stop_token) from a supervisor or the runtime: start;
/// skipped when the token's stop was requested before it is handled (the
/// supervisor's operation was cancelled by a stop meanwhile).
using start_atom = caf::atom_constant<caf::atom("v_start")>;
/// (stop, resting) from a supervisor: stop; `resting` when the supervisor
/// stops itself (a stop or a failure), so a process started by hand before
/// its next start runs unsupervised; false in a group restart.
using stop_atom = caf::atom_constant<caf::atom("v_stop")>;
using resume_atom = caf::atom_constant<caf::atom("v_resume")>;
/// (hold) from a one_for_all or rest_for_one supervisor whose restart will
/// start this child in its turn: until that start, a handle's start or
/// restart waits for it, and a stop or kill makes the child skip it.
using hold_atom = caf::atom_constant<caf::atom("v_hold")>;
using signal_atom = caf::atom_constant<caf::atom("v_signal")>;
using shutdown_atom = caf::atom_constant<caf::atom("v_shutdown")>;
using subscribe_atom = caf::atom_constant<caf::atom("v_sub")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("v_unsub")>;
/// Writes the actor's current state in the status table again (the file
/// was shrunk by another process); a supervisor passes it to its children.
using republish_atom = caf::atom_constant<caf::atom("v_repub")>;
using add_child_atom = caf::atom_constant<caf::atom("v_addchild")>;
/// (change, shared_ptr<change_request>) from a handle: add, remove or
/// replace a child (child_change_request.hpp).
using change_atom = caf::atom_constant<caf::atom("v_change")>;
/// (command, ticket, command_kind) from a handle: applied, then published
/// as the state's applied_command.
using command_atom = caf::atom_constant<caf::atom("v_command")>;
/// (intensity, ticket, intensity, period in ms) from a handle: a new
/// restart intensity for a supervisor.
using intensity_atom = caf::atom_constant<caf::atom("v_intens")>;
/// (deny, version) A supervisor that is not running refuses the restart a
/// child asked for with the report of that version; version 0: the
/// supervisor is stopping its children, so one waiting in backoff (its
/// restart granted or not) is stopped there, and a hold ends.
using deny_atom = caf::atom_constant<caf::atom("v_deny")>;
/// A supervisor waits out the backoff delay of the child that exited.
using plan_timer_atom = caf::atom_constant<caf::atom("v_plantim")>;
/// To a supervisor from the thread that cancelled its running operation
/// from outside (the runtime's begin_shutdown(), a parent's cancelled
/// start): the step it waits for no longer holds it.
using cancelled_atom = caf::atom_constant<caf::atom("v_cancel")>;

/// What a handle's command asks for.
enum class command_kind : int { start = 0, stop = 1, restart = 2, kill = 3 };

// Events.
using child_event_atom = caf::atom_constant<caf::atom("v_childevt")>;
/// (run_event, run_event kind, generation, error) to a process actor: an
/// event of one run of its child, from the I/O thread or a timer the actor
/// armed. The generation names the run (the actor counts its spawns and
/// timers); events of an earlier one are stale and dropped.
using run_event_atom = caf::atom_constant<caf::atom("v_runevent")>;

/// What happened to the run (sent as an int).
enum class run_event : int {
  exited = 0,     ///< the I/O thread saw the pidfd readable (error: watch)
  ready = 1,      ///< the child wrote to its readiness fd
  up = 2,         ///< startsecs passed
  kill_due = 3,   ///< stop_timeout passed while stopping
  spawn_due = 4,  ///< the backoff delay passed
};

}  // namespace vitrine::detail

// A start's cancellation travels with it; actors of one runtime only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::stop_token)
