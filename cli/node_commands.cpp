// The remote commands: `vitrine node`, `status --node`, `ctl --node`
// (node_commands.hpp).
#include "node_commands.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <future>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "command_effect.hpp"
#include "commands.hpp"
#include "control_protocol.hpp"
#include "node_serving.hpp"
#include "remote_flags.hpp"
#include "render.hpp"
#include "runner_subcommands.hpp"
#include "status.hpp"
#include "text_escape.hpp"
#include "vitrine/core/signal_names.hpp"
#include "vitrine/os/tcp_connect.hpp"
#include "vitrine/runtime.hpp"
#include "watch_command.hpp"

namespace vitrine::cli {
namespace {

using clock_type = std::chrono::steady_clock;

remote_endpoint endpoint_or_throw(const std::string& text) {
  auto e = remote_endpoint::parse(text);
  if (!e) throw std::runtime_error("not HOST:PORT: " + terminal_safe(text));
  return *e;
}

/// `vitrine run` (signals, reload, state directory, display, exit
/// statuses) with the tree also served on the --listen address.
int node_command(const run_options& run, const remote_flags& f, bool insecure) {
  // HOST:0 listens on any free port (printed once the tree is added).
  const bool any_port = f.endpoint.ends_with(":0");
  const auto endpoint =
      any_port ? remote_endpoint{f.endpoint.substr(0, f.endpoint.size() - 2), 0}
               : endpoint_or_throw(f.endpoint);
  node_serving serving;
  serving.remoting = options_for(f).remoting;
  serving.serve.bind_address = endpoint.host;
  serving.serve.port = endpoint.port;
  serving.serve.insecure = insecure;
  return run_command(run, &serving);
}

/// A one-shot controller's runtime (status --node, ctl --node): CAF must
/// not drop the connection before its handshake ends (its connection
/// check runs each heartbeat: a node stopped for a second would never be
/// reached), so --timeout-ms alone bounds the wait; the mirror still marks
/// a node silent that long lost.
runtime_options one_shot_options(const remote_flags& f) {
  auto o = options_for(f);
  o.remoting.drop_silent_connections = false;
  return o;
}

/// Why a node was not reached within --timeout-ms, from what a plain TCP
/// connection found meanwhile.
std::string silent_node(const remote_flags& f, os::tcp_connect_status tcp) {
  const auto within = std::to_string(f.timeout_ms) + " ms";
  switch (tcp) {
    case os::tcp_connect_status::connected:
      // A node speaks first; so does nothing that waits for its client
      // (an HTTP server): silence alone cannot tell them apart.
      return "it accepted the connection but did not answer within " + within +
             (f.tls_cert.empty()
                  ? " (a node stopped or overloaded? a node with TLS, which "
                    "answers only a TLS controller? or not a node: a server "
                    "that waits for its client to speak first)"
                  : " (a node stopped or overloaded? or not a node: a "
                    "server that waits for its client to speak first)");
    case os::tcp_connect_status::no_answer:
      return "no TCP connection within " + within +
             " (host down, or packets dropped?)";
    case os::tcp_connect_status::refused:
      break;
  }
  return "no answer within " + within;
}

/// Connects and waits for the first snapshot; throws when unreachable.
node_handle connect_or_throw(runtime& rt, const remote_flags& f) {
  const auto endpoint = endpoint_or_throw(f.endpoint);
  const std::chrono::milliseconds timeout{f.timeout_ms};
  // Beside CAF's attempt: does the port take a TCP connection at all?
  auto tcp = std::async(std::launch::async, [host = endpoint.host,
                                             port = endpoint.port, timeout] {
    // The connection itself is closed at once.
    return os::connect_tcp(host, port, clock_type::now() + timeout).status;
  });
  connect_options o;
  // Longer than the wait below: within it an attempt ends only with an
  // answer (a refusal, a peer that is not a node), never by its timer.
  o.attempt_timeout = timeout + std::chrono::seconds{1};
  auto node = rt.connect(endpoint, o);
  // One attempt: a refused connection or a name that does not resolve is
  // an answer, not a reason to wait out the timeout.
  const auto deadline = clock_type::now() + timeout;
  // One wording for every cause: "node HOST:PORT unreachable: WHY".
  const auto unreachable = [&](const std::string& why) {
    return std::runtime_error("node " + terminal_safe(f.endpoint) +
                              " unreachable: " + why);
  };
  while (!node.wait_connected(
      std::min(deadline, clock_type::now() + std::chrono::milliseconds{20}))) {
    if (auto why = node.last_error(); !why.empty())
      throw unreachable(terminal_safe(why));
    if (clock_type::now() >= deadline)
      throw unreachable(silent_node(f, tcp.get()));
  }
  return node;
}

/// The handles of `names` on the node, a name given twice once (as the
/// local commands count it); nullopt, having printed "unknown name 'x' on
/// HOST:PORT" and `consequence`, if one is not there.
std::optional<std::vector<process_handle>> find_programs(
    const node_handle& node, const std::vector<std::string>& names,
    const std::string& endpoint, std::string_view consequence) {
  std::vector<process_handle> found;
  std::vector<std::string> unknown;
  std::set<std::string_view> seen;
  for (const auto& name : names) {
    if (!seen.insert(name).second) continue;
    if (auto h = node.find(name))
      found.push_back(std::move(h));
    else
      unknown.push_back(name);
  }
  if (unknown.empty()) return found;
  std::cerr << "vitrine: "
            << (unknown.size() == 1 ? "unknown name " : "unknown names ")
            << quoted_names(unknown) << " on " << terminal_safe(endpoint)
            << consequence << "\n";
  return std::nullopt;
}

/// The node's processes as the local `status` shows a run's: the same
/// table, or the same JSON object as --json-status (supervisors empty: a
/// node's supervisors are not mirrored). Limited to `names` when given (an
/// unknown one: exit 1).
int status_command(const remote_flags& f, bool json,
                   const std::vector<std::string>& names) {
  runtime rt{one_shot_options(f)};
  auto node = connect_or_throw(rt, f);
  const auto now = clock_pair::now();
  const auto programs = names.empty()
                            ? std::optional{node.processes()}
                            : find_programs(node, names, f.endpoint, "");
  if (!programs) return 1;
  std::vector<status_row> rows;
  for (const auto& h : *programs) rows.push_back(remote_row(node, h, now));
  std::cout << (json ? to_json(rows, now.unix_ms())
                     : render_table(rows, now.unix_ms()))
            << std::flush;
  return 0;
}

/// One program's line, as the local ctl prints it: "api: running pid=42",
/// with `before` ("sent; ") and `after` (" (not confirmed)") around it.
void print_line(const process_handle& h, const core::process_state& s,
                std::string_view before, std::string_view after) {
  std::cout << terminal_safe(h.name()) << ": " << before << to_string(s.status);
  if (s.pid) std::cout << " pid=" << s.pid;
  std::cout << after << "\n";
}

/// `ctl --node`: every name is resolved first (an unknown one: nothing is
/// done, as in the local ctl); then each command is sent and its effect
/// awaited, all within `timeout` (exit_ctl_timeout past it).
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

int ctl_command(const remote_flags& f, const std::string& verb,
                std::vector<std::string> names,
                std::chrono::milliseconds timeout, bool no_wait) {
  std::optional<int> sig;
  if (verb == "signal") {
    if (names.size() < 2) {
      std::cerr << "vitrine: ctl --node signal takes SIG NAME...\n";
      return 2;
    }
    sig = core::signal_from_name(names.front());
    if (!sig) {
      std::cerr << "vitrine: unknown signal '" << terminal_safe(names.front())
                << "'\n";
      return 2;
    }
    names.erase(names.begin());
  }
  runtime rt{one_shot_options(f)};
  auto node = connect_or_throw(rt, f);
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
    const bool ended =
        cmd && h.wait_until(
                   [&](const core::process_state& s) {
                     return s.status == process_status::unknown || settled(s) ||
                            node.stopping();
                   },
                   deadline);
    const auto now = *h.read();
    // The node went away, or began to stop, before the effect was seen.
    const bool node_lost = now.status == process_status::unknown;
    const bool node_stopping = !node_lost && !settled(now) && node.stopping();
    const bool applied = ended && !node_lost && !node_stopping;
    const bool ok = effect_seen(*control::verb_from_string(verb), now.status);
    const bool note =
        applied && !no_wait && !ok && overtaken(cmd.ticket(), now);
    print_line(h, now, no_wait ? "sent; " : "",
               !applied ? " (not confirmed)"
               : note   ? " (" + std::string{overtaken_note} + ")"
                        : std::string{});
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
    if (no_wait || !applied) continue;
    failed = failed || !ok;
  }
  return timed_out ? exit_ctl_timeout : failed || lost || stopping ? 1 : 0;
}

}  // namespace

int remote_main(int argc, char** argv) {
  CLI::App app{"vitrine: remote nodes (docs/distribution.md)"};
  app.require_subcommand(1);
  remote_flags node_flags, status_flags, ctl_flags;
  run_options node_run;
  bool insecure = false, json = false;
  auto* node = app.add_subcommand(
      "node", "supervise FILE like `run` and serve it to remote controllers");
  add_run_options(node, node_run);
  node->add_option("--listen", node_flags.endpoint,
                   "HOST:PORT (PORT 0: any free one; HOST other than loopback "
                   "needs TLS or --insecure)")
      ->required()
      ->check(endpoint_check(true));
  auto* node_tls = add_tls(node, node_flags, "the node's");
  // --insecure waives authentication, which TLS provides: never both.
  node->add_flag("--insecure", insecure,
                 "serve a non-loopback address without authentication")
      ->excludes(node_tls);
  add_timing(node, node_flags);
  auto* status = app.add_subcommand("status", "states of a remote node");
  status->add_option("--node", status_flags.endpoint, "HOST:PORT")
      ->required()
      ->check(endpoint_check());
  std::vector<std::string> status_names;
  check_names(status,
              status->add_option("names", status_names, "only these programs"),
              status_names);
  status->add_flag("--json", json,
                   "print the JSON object of --json-status (processes)");
  add_tls(status, status_flags, "the controller's");
  add_timing(status, status_flags);
  std::string verb;
  std::vector<std::string> names;
  auto* ctl = app.add_subcommand("ctl", "command programs of a remote node");
  ctl->add_option("--node", ctl_flags.endpoint, "HOST:PORT")
      ->required()
      ->check(endpoint_check());
  ctl->add_option("verb", verb, "start, stop, restart or signal (SIG first)")
      ->required()
      ->check(CLI::IsMember({"start", "stop", "restart", "signal"}));
  check_names(
      ctl,
      ctl->add_option("names", names, "program names (signal: SIG NAME...)")
          ->required(),
      names, &verb);
  double ctl_timeout_s = 30;
  ctl->add_option("--timeout", ctl_timeout_s,
                  "seconds to wait for the effects (then exit 5)")
      ->capture_default_str();
  bool ctl_no_wait = false;
  ctl->add_flag("--no-wait", ctl_no_wait,
                "return once the node applied each command, before its "
                "effect");
  add_tls(ctl, ctl_flags, "the controller's");
  add_timing(ctl, ctl_flags);
  watch_options watch_flags;
  auto* watch = add_watch_subcommand(app, watch_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e);
  }
  try {
    if (*node) return node_command(node_run, node_flags, insecure);
    if (*status) return status_command(status_flags, json, status_names);
    // As for a local ctl: 0 would report every effect as timed out.
    if (*ctl && !(ctl_timeout_s > 0 && ctl_timeout_s <= 3600)) {
      std::cerr << "vitrine: --timeout must be more than 0 and at most 3600 "
                   "seconds\n";
      return 2;
    }
    if (*ctl)
      return ctl_command(
          ctl_flags, verb, names,
          std::chrono::milliseconds{std::llround(ctl_timeout_s * 1000)},
          ctl_no_wait);
    if (*watch) return watch_command(watch_flags);
  } catch (const std::exception& e) {
    const std::string_view what = e.what();
    std::cerr << (what.starts_with("vitrine: ") ? "" : "vitrine: ") << what
              << "\n";
    return 1;
  }
  return 2;
}

}  // namespace vitrine::cli
