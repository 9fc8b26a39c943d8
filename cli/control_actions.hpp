// control_actions: what one control request does to a running runtime:
// resolve every name (a process, else a supervisor; nothing is done if one
// is unknown), send the commands through the handles, and, unless told not
// to, wait until their effect is published (docs/cli.md, "vitrine ctl").
// A request read at or past its deadline_ms does nothing (reply.expired);
// no wait outlasts the deadline.
//
// Threads: any thread but an actor's (the waits block on futexes); the
// control server calls it from a connection's thread. Handles are
// thread-safe, so several requests may run at once.
// Cost: a registry lookup per name, one message per command, then sleeping
// on the published states in slices of `slice` to call `keep_waiting`.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "control_protocol.hpp"

namespace vitrine {
class runtime;
}

namespace vitrine::cli {

/// What a reload answers: `error` is "" when the new file was applied,
/// else why not: the file's report, lines ending in '\n' (as `vitrine
/// check` prints it), or a bare message without one (the run could not
/// reload). `warnings`: the new file's, one line each, applied or not.
struct reload_answer {
  std::string error;
  std::vector<std::string> warnings;
  std::vector<std::string> notes{};  ///< the applied reload's summary lines
};

/// The reload hook. A reload that cannot begin yet (the programs are still
/// being added) may wait for its turn until `until`, while `keep_waiting()`
/// holds.
using reload_hook =
    std::function<reload_answer(std::chrono::steady_clock::time_point until,
                                const std::function<bool()>& keep_waiting)>;

/// Waits until the run has added every program of its file (at most until
/// `until`, while `keep_waiting()` holds): "" once they are, else why not.
using added_hook =
    std::function<std::string(std::chrono::steady_clock::time_point until,
                              const std::function<bool()>& keep_waiting)>;

struct control_context {
  runtime& rt;
  reload_hook reload;  ///< empty: "reload is not available"
  /// A name not found while the programs are still being added is looked
  /// up again once they are (empty: at once "unknown").
  added_hook until_added;
  /// Asked between wait slices: false ends the wait early (the client hung
  /// up, or the server is stopping); the reply then says so.
  std::function<bool()> keep_waiting = [] { return true; };
  std::chrono::milliseconds slice{50};
};

control::reply execute(const control_context& context,
                       const control::request& request);

}  // namespace vitrine::cli
