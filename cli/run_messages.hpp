// run_messages: what `vitrine run` says on its own account (cli/run.cpp):
// the line for a signal that does not stop it, the message for a failed
// top supervisor, and the notes about a status table that lacks names.
// Called from the run loop's thread. Cost: a few string concatenations
// (report_table_gap: a relaxed load while nothing is missing).
#pragma once

#include <cstddef>
#include <string>

#include "vitrine/core/supervisor_state.hpp"

namespace vitrine {
class runtime;
}

namespace vitrine::cli {

/// The line printed for a signal that does not stop vitrine.
std::string describe_signal(int sig);

/// `vitrine run`'s answer to a failed top supervisor (its intensity was
/// exhausted; the root, with intensity 0, does not restart it): a message
/// naming the child and its exit, or "" while it has not failed.
std::string top_failure_message(const core::supervisor_state& top);

/// Says on stderr when the status table begins to lack names (it could not
/// grow: a full file system) and when it lists every name again; once per
/// episode, not per name. `said`: the count last reported.
void report_table_gap(const runtime& rt, std::size_t& said);

}  // namespace vitrine::cli
