// control_waits: how control_actions waits for the effect of a command it
// sent to one named process or supervisor (docs/cli.md, "vitrine ctl"):
// in slices, so that a client that left or a run that is stopping ends the
// wait; a target that a reload removed or replaced is told apart from one
// the command acted on; a supervisor's restart is its stop, then a start
// once the stop is done. Internal to the CLI.
//
// Threads: the control request's thread (the waits block on futexes).
// Cost: sleeping on the published states, waking every context.slice.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "command_effect.hpp"
#include "control_actions.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::cli {

/// One named target of a request and the command sent to it.
struct target {
  std::string name;
  process_handle process;
  supervisor_handle supervisor;
  process_command process_cmd;
  supervisor_command supervisor_cmd;
  pid_t old_pid = 0;  ///< restart: the pid the new one must differ from
  /// The command as its effect is awaited (command_effect.hpp).
  control::verb awaited = control::verb::start;
  /// signal: the state it was sent in (the reply shows it, not what the
  /// signal made of the process since).
  std::optional<core::process_state> signalled_in;
  bool sent = false;
  std::string send_error;  ///< why it was not sent, if known
  /// A supervisor's restart: the number of its last transition when the
  /// stop was sent (a stop seen after it counts, even if its parent has
  /// started it again since).
  std::uint64_t transitions_before = 0;
  /// ... and whether it was at rest (stopped or failed) then: its parent
  /// may have stopped it just before, and may start it again before the
  /// wait for the stop looks (command_effect.hpp, supervisor_stop_done).
  bool at_rest_before = false;
};

inline constexpr const char* abandoned_text =
    "vitrine run is stopping: the effect was not awaited";

/// The status (and a process's pid) of what a line of the reply shows.
void describe_state(const core::process_state& state, control::result& out);
void describe_process(const process_handle& h, control::result& out);
void describe_supervisor(const supervisor_handle& h, control::result& out);

/// A check whether `t`'s supervisor was removed or replaced (a reload
/// replaces a changed group as a whole) since the command went out;
/// `removed` remembers a yes.
std::function<bool()> replaced_check(const control_context& context,
                                     const target& t, bool& removed);

/// Waits until the supervisor's stop is done, then sends the start; not
/// once `gone()` (a reload replaced it). A supervisor that stopped and is
/// already running again (its parent's restart in the same request: `ctl
/// restart g h`, h inside g) is restarted: no start is sent.
bool send_supervisor_start(const control_context& context,
                           std::chrono::steady_clock::time_point deadline,
                           target& t, const std::function<bool()>& gone);

/// One command of a request may undo another's effect for a while (`ctl
/// restart h g`, h inside g: h started, then stopped by g's restart, which
/// starts it again): a line that failed is judged again on the state once
/// every wait of the request ended, and kept failed if it still fails.
void judge_again(const control::request& request,
                 const std::vector<target>& targets,
                 std::vector<control::result>& results);

/// Waits for the effect on `t` (until `deadline`) and fills in `out`;
/// false when the wait was abandoned.
bool await(const control_context& context, const control::request& request,
           std::chrono::steady_clock::time_point deadline, target& t,
           control::result& out);

}  // namespace vitrine::cli
