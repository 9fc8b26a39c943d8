// command_effect: when the wait of `vitrine ctl` for a command's effect on
// a process or a supervisor is over, and what the state it ended on says
// of the command, for local programs and through a node alike.
//
// Threads: any (pure functions). Cost: a few compares.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "control_protocol.hpp"
#include "vitrine/core/process_state.hpp"
#include "vitrine/core/supervisor_state.hpp"

namespace vitrine::cli {

/// The command as its effect is awaited: a start sent to a process that
/// is stopping starts it again once reaped, like a restart (the `stopped`
/// in between is not its effect).
inline control::verb awaited_as(control::verb command,
                                core::process_status sent_in) noexcept {
  return command == control::verb::start &&
                 sent_in == core::process_status::stopping
             ? control::verb::restart
             : command;
}

/// Whether `s` shows the effect of `command` (as awaited_as() gives it)
/// on a process whose child was `before` when it was sent: a stop once at
/// rest, a start once up or at rest (given up, or stopped since), a
/// restart once a new child runs or it ended for good. `unknown` (a node
/// that was lost) ends every wait.
inline bool command_settled(control::verb command, pid_t before,
                            const core::process_state& s) noexcept {
  using core::process_status;
  switch (s.status) {
    case process_status::unknown:
    case process_status::exited:
    case process_status::failed:
      return true;
    case process_status::stopped:
      return command != control::verb::restart;
    case process_status::running:
      return command == control::verb::start ||
             (command == control::verb::restart && s.pid != before);
    default:
      return false;
  }
}

/// Whether `status`, once the wait for `command` (start, stop, restart)
/// ended, shows its effect: at rest after a stop, up (or ended for good)
/// after a start or restart.
inline bool effect_seen(control::verb command,
                        core::process_status status) noexcept {
  using core::process_status;
  if (command == control::verb::stop)
    return status == process_status::stopped ||
           status == process_status::exited || status == process_status::failed;
  return status == process_status::running || status == process_status::exited;
}

/// Whether a command to the process applied after the one with `ticket`
/// (another client's) has settled it instead: the effect awaited may never
/// come (a stop cancels a restart's start; a start undoes a stop), so the
/// wait ends once the process is neither starting nor stopping. Tickets are
/// taken before their commands are sent, so two commands sent at the same
/// moment may be applied out of ticket order: then the one applied last is
/// taken for overtaken.
inline bool overtaken(std::uint64_t ticket,
                      const core::process_state& s) noexcept {
  return s.applied_command > ticket &&
         s.status != core::process_status::starting &&
         s.status != core::process_status::stopping;
}

/// Why a command's effect was not seen when its target left meanwhile.
inline constexpr const char* removed_text =
    "was removed from the run (by a reload) before the effect was seen";

/// What a failed command's message adds when overtaken(): why its effect
/// was not seen.
inline constexpr std::string_view overtaken_note =
    "another command to it was applied meanwhile";

/// Fills `out.ok` / `out.error` from the state a process reached after the
/// command with `ticket`.
inline void judge_process(control::verb command, std::uint64_t ticket,
                          const core::process_state& s, control::result& out) {
  out.ok = effect_seen(command, s.status);
  if (out.ok) return;
  out.error = "is " + std::string{core::to_string(s.status)};
  if (!s.spawn_error().empty())
    out.error += ": " + std::string{s.spawn_error()};
  else if (s.last_exit.how != core::termination::kind::none)
    out.error += " (last exit: " + core::describe(s.last_exit) + ")";
  if (overtaken(ticket, s)) out.error += "; " + std::string{overtaken_note};
}

/// Whether a supervisor's `command` (stop, or start) is done in `s`: at
/// rest after a stop; running or at rest after a start.
inline bool supervisor_done(control::verb command,
                            const core::supervisor_state& s) noexcept {
  using core::supervisor_status;
  if (command == control::verb::stop)
    return s.status == supervisor_status::stopped ||
           s.status == supervisor_status::failed;
  return s.status == supervisor_status::running ||
         s.status == supervisor_status::failed ||
         s.status == supervisor_status::stopped;
}

/// The number of the last transition in `s`'s history (0 when none).
inline std::uint64_t last_transition(const core::supervisor_state& s) noexcept {
  return s.history && !s.history->empty()
             ? (*s.history)[s.history->size() - 1].number
             : 0;
}

/// Whether `s`'s history holds a transition numbered past `before` into a
/// status that `wanted` accepts: a waiter woken by a later state still
/// sees one that was replaced at once (a one_for_all group in a crash loop
/// runs for an instant, then restarts its children). The history keeps the
/// last 16 transitions.
template <class Wanted>
bool transition_since(const core::supervisor_state& s, std::uint64_t before,
                      Wanted wanted) {
  if (!s.history) return false;
  for (const auto& t : *s.history)
    if (t.number > before && wanted(t.status)) return true;
  return false;
}

/// Whether `s` went `stopped` (or `failed`) in a transition numbered past
/// `before`.
inline bool stopped_since(const core::supervisor_state& s,
                          std::uint64_t before) {
  return transition_since(s, before, [](core::supervisor_status status) {
    return status == core::supervisor_status::stopped ||
           status == core::supervisor_status::failed;
  });
}

/// Whether a supervisor's stop is done in `s`, a state that has applied
/// it, sent when the supervisor's last transition was numbered `before`
/// and it was at rest (stopped or failed) if `at_rest`: at rest now; or
/// went to rest since `before` (its parent may have started it again
/// since: `ctl restart g h`, h in g); or was at rest and began no stop
/// since, so that the stop found it at rest (a stop applied to a running
/// supervisor publishes `shutting_down` with its ticket) even if it was
/// started again since.
inline bool supervisor_stop_done(const core::supervisor_state& s,
                                 std::uint64_t before, bool at_rest) {
  return supervisor_done(control::verb::stop, s) || stopped_since(s, before) ||
         (at_rest &&
          !transition_since(s, before, [](core::supervisor_status status) {
            return status == core::supervisor_status::shutting_down;
          }));
}

/// Whether `s` went `running` in a transition numbered past `before`.
inline bool ran_since(const core::supervisor_state& s, std::uint64_t before) {
  return transition_since(s, before, [](core::supervisor_status status) {
    return status == core::supervisor_status::running;
  });
}

}  // namespace vitrine::cli
