// `vitrine ctl --node` (node_client.hpp): commands and signals sent to a
// node's programs through a one-shot controller.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "command_effect.hpp"
#include "commands.hpp"
#include "control_protocol.hpp"
#include "ctl_line.hpp"
#include "node_client.hpp"
#include "print_line.hpp"
#include "render.hpp"
#include "signal_argument.hpp"
#include "text_escape.hpp"
#include "vitrine/core/signal_names.hpp"

namespace vitrine::cli {
namespace {

using clock_type = std::chrono::steady_clock;

/// One program's line, as the local ctl prints it: "api: running pid=42",
/// with `before` ("sent; ") and `after` (" (not confirmed)") around it.
void print_line(const process_handle& h, const core::process_state& s,
                std::string_view before, std::string_view after) {
  std::cout << terminal_safe(h.name()) << ": " << before << to_string(s.status);
  if (s.pid) std::cout << " pid=" << s.pid;
  std::cout << after << "\n";
}

/// `ctl --node signal SIG NAME...`: sent to each program's group through
/// its node, each answered by the node before the next (a program without
/// a child: an error, as in the local ctl); exit_ctl_timeout when the
/// answers do not all come within `timeout`.
int signal_programs(const node_handle& node,
                    const std::vector<process_handle>& targets, int sig,
                    std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  int code = 0;
  for (const auto& h : targets) {
    const auto name = terminal_safe(h.name());
    const core::process_state signalled = *h.read();  // as it was sent
    const auto left = std::max(std::chrono::milliseconds{1},
                               std::chrono::ceil<std::chrono::milliseconds>(
                                   deadline - clock_type::now()));
    switch (const int error = node.signal(h.name(), sig, left)) {
      case 0:
        print_line(h, signalled, "sent; ", "");
        break;
      case ESRCH:
        std::cerr << "vitrine: " << name << ": has no child to signal\n";
        code = std::max(code, 1);
        break;
      case ETIMEDOUT:
        std::cerr << "vitrine: " << name
                  << ": no answer from the node within --timeout (the signal "
                     "may still arrive)\n";
        code = exit_ctl_timeout;
        break;
      default:
        std::cerr << "vitrine: " << name
                  << ": not signalled: " << std::strerror(error) << "\n";
        code = std::max(code, 1);
        break;
    }
  }
  return code;
}

}  // namespace

int ctl_command(const remote_flags& f, const std::string& verb,
                std::vector<std::string> names,
                std::chrono::milliseconds timeout, bool no_wait) {
  std::optional<int> sig;
  if (verb == "signal") {
    sig = core::signal_from_name(names.front());
    if (!sig) {
      print_usage_error({unknown_signal_text(names.front())});
      return 2;
    }
    names.erase(names.begin());
  }
  client_runtime rt{one_shot_options(f)};
  auto node = connect_or_throw(*rt, f);
  const auto found =
      find_programs(node, names, f.endpoint, ": nothing was done");
  if (!found) return 1;
  const auto& targets = *found;
  if (sig) return signal_programs(node, targets, *sig, timeout);
  // Every command is sent first, then each effect awaited, as the local
  // ctl does (before, a later NAME's command went out only once the one
  // before it settled: a slow stop held it until --timeout ran out).
  struct sent_command {
    process_handle h;
    pid_t before;
    control::verb awaited;
    process_command cmd;
  };
  std::vector<sent_command> sent;
  sent.reserve(targets.size());
  for (const auto& h : targets) {
    const auto sent_in = *h.read();
    sent.push_back(
        {h, sent_in.pid,
         awaited_as(*control::verb_from_string(verb), sent_in.status),
         verb == "start"  ? h.start()
         : verb == "stop" ? h.stop()
                          : h.restart()});
  }
  const auto deadline = clock_type::now() + timeout;
  bool timed_out = false, failed = false, lost = false, stopping = false;
  for (const auto& [h, before, awaited, cmd] : sent) {
    using core::process_status;
    const auto settled = [&](const core::process_state& s) {
      return s.applied_command >= cmd.ticket() &&
             (no_wait || command_settled(awaited, before, s) ||
              overtaken(cmd.ticket(), s));
    };
    // --no-wait: once the node applied it (its effect may follow later).
    // The node lost (`unknown`) ends the wait too, applied or not: a
    // command the node had not applied is dropped with the connection, so
    // waiting on for it would only wait out --timeout. So does a node
    // that began to stop: it carries out no command from then on.
    // A reload on the node that removes the program (or replaces it)
    // ends the wait as the local ctl's: no effect will come (the node
    // tells the mirror as the removal begins, before its stop).
    const bool ended =
        cmd && h.wait_until(
                   [&](const core::process_state& s) {
                     return s.status == process_status::unknown || settled(s) ||
                            node.stopping() || h.removed();
                   },
                   deadline);
    const auto now = *h.read();
    // The node went away, or began to stop, before the effect was seen.
    const bool node_lost = now.status == process_status::unknown;
    const bool node_stopping = !node_lost && !settled(now) && node.stopping();
    const bool removed = !node_lost && !node_stopping && h.removed();
    const bool applied = (ended || removed) && !node_lost && !node_stopping;
    if (applied && !no_wait) {
      // The local ctl's line and judgement.
      control::result out;
      out.name = std::string{h.name()};
      out.status = std::string{core::to_string(now.status)};
      out.pid = now.pid;
      judge_process(*control::verb_from_string(verb), cmd.ticket(), now, out);
      // A state of the removal's stop may have ended the wait: no effect.
      if (!out.ok && removed) out.error = removed_text;
      print_ctl_line(out, true);
      failed = failed || !out.ok;
      continue;
    }
    // "sent;" says the node took it: not for a command it never applied.
    print_line(h, now, no_wait && applied ? "sent; " : "",
               !applied ? " (not confirmed)" : std::string{});
    if (node_lost && !lost) {
      const auto why = node.last_error();
      std::cerr << "vitrine: lost the node at " << terminal_safe(f.endpoint)
                << " before the effect was seen"
                << (why.empty() ? "" : ": " + terminal_safe(why)) << "\n";
    }
    if (node_stopping && !stopping)
      std::cerr << "vitrine: the node at " << terminal_safe(f.endpoint)
                << " is stopping: it carries out no more commands, and the "
                   "effect was not seen\n";
    lost = lost || node_lost;
    stopping = stopping || node_stopping;
    timed_out = timed_out || !ended;
  }
  return timed_out ? exit_ctl_timeout : failed || lost || stopping ? 1 : 0;
}

}  // namespace vitrine::cli
