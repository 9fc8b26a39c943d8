// What `vitrine run` says on its own account (run_messages.hpp).
#include "run_messages.hpp"

#include <signal.h>

#include <iostream>

#include "commands.hpp"
#include "signal_channel.hpp"
#include "text_escape.hpp"
#include "vitrine/core/signal_names.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::cli {

std::string describe_signal(int sig) {
  const std::string name{core::signal_name(sig)};
  switch (action_for(sig)) {
    case signal_action::resumed:
      return "received " + name + ": nothing to do";
    case signal_action::log:
      if (sig == SIGTSTP)
        return "received " + name +
               ": ignored, vitrine keeps supervising (Ctrl-C stops every "
               "program)";
      return "received " + name + ": ignored";
    default:
      return "received " + name;
  }
}

std::string top_failure_message(const core::supervisor_state& top) {
  if (top.status != core::supervisor_status::failed || !top.last_failure)
    return {};
  return "vitrine: supervisor '" + std::string{top.name()} +
         "' failed: " + top.last_failure->describe() +
         "; stopping everything (exit status " +
         std::to_string(exit_top_supervisor_failed) + ")";
}

void report_table_gap(const runtime& rt, std::size_t& said) {
  const auto gap = rt.missing_from_status_table();
  if ((gap.missing == 0) == (said == 0)) return;
  if (gap.missing != 0)
    std::cerr << "vitrine: " << terminal_safe(gap.error)
              << ": `vitrine status` lacks the programs and supervisors it "
                 "has no room for until space is freed"
              << std::endl;
  else
    std::cerr << "vitrine: the status table lists every program again"
              << std::endl;
  said = gap.missing;
}

}  // namespace vitrine::cli
