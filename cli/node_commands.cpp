// The remote commands: `vitrine node`, `status --node`, `ctl --node`
// (node_commands.hpp).
#include "node_commands.hpp"

#include <malloc.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "node_client.hpp"
#include "node_serving.hpp"
#include "remote_flags.hpp"
#include "render.hpp"
#include "runner_subcommands.hpp"
#include "status.hpp"
#include "stdout_check.hpp"
#include "text_escape.hpp"
#include "timeout_seconds.hpp"
#include "usage_text.hpp"
#include "vitrine/runtime.hpp"
#include "watch_command.hpp"

namespace vitrine::cli {
namespace {

/// `vitrine run` (signals, reload, state directory, display, exit
/// statuses) with the tree also served on the --listen address.
int node_command(const run_options& run, const remote_flags& f, bool insecure) {
  // CAF allocates a peer's announced message whole (up to max_message_bytes,
  // 16 MiB): with glibc's sliding mmap threshold, once one such buffer was
  // freed the next ones came from the heap and stayed there (an outside
  // tester: 513 MB kept after the connections had closed). A fixed
  // threshold keeps large buffers in mappings of their own, given back
  // when freed.
  ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  // HOST:0 listens on any free port (printed once the tree is added).
  const bool any_port = f.endpoint.ends_with(":0");
  const auto endpoint =
      any_port ? remote_endpoint{f.endpoint.substr(0, f.endpoint.size() - 2), 0}
               : endpoint_or_throw(f.endpoint);
  if (const auto warning = timing_warning(f); !warning.empty())
    std::cerr << "vitrine: " << warning << "\n";
  node_serving serving;
  serving.remoting = options_for(f).remoting;
  serving.serve.bind_address = endpoint.host;
  serving.serve.port = endpoint.port;
  serving.serve.insecure = insecure;
  return run_command(run, &serving);
}

/// The node's processes as the local `status` shows a run's: the same
/// table, or the same JSON object as --json-status (supervisors empty: a
/// node's supervisors are not mirrored). Limited to `names` when given (an
/// unknown one: exit 1).
int status_command(const remote_flags& f, bool json,
                   const std::vector<std::string>& names) {
  client_runtime rt{one_shot_options(f)};
  auto node = connect_or_throw(*rt, f);
  const auto now = clock_pair::now();
  // An unknown NAME exits 1; the others are shown in the node's order, as
  // the local status shows a run's (before, in the order typed).
  if (!names.empty() && !find_programs(node, names, f.endpoint, "")) return 1;
  const std::set<std::string_view> wanted(names.begin(), names.end());
  // Known with the snapshot (the node says so in its answer to the hello).
  if (node.stopping())
    std::cerr << "vitrine: the node at " << terminal_safe(f.endpoint)
              << " is stopping: these are its states as it stops\n";
  std::vector<status_row> rows;
  for (const auto& h : node.processes())
    if (wanted.empty() || wanted.contains(h.name()))
      rows.push_back(remote_row(node, h, now));
  std::cout << (json ? to_json(rows, now.unix_ms())
                     : render_table(rows, now.unix_ms()))
            << std::flush;
  return 0;
}

/// What is wrong with a remote ctl's verb and its words, as the local
/// ctl says it ("ctl: unknown command 'frob' (...)", "ctl signal: missing
/// SIG"); "" when nothing is.
std::string remote_ctl_problem(const CLI::Option& verb_option,
                               const std::string& verb,
                               const std::vector<std::string>& names,
                               bool no_wait) {
  constexpr std::string_view verbs = "start, stop, restart, signal";
  if (verb_option.count() == 0)
    return "ctl: give a command: one of " + std::string{verbs};
  if (verb != "start" && verb != "stop" && verb != "restart" &&
      verb != "signal")
    return "ctl: unknown command '" + terminal_safe(verb) + "' (one of " +
           std::string{verbs} + ")";
  const bool signal = verb == "signal";
  if (signal && names.empty()) return "ctl signal: missing SIG";
  // A signal has no effect to wait for: the local ctl signal has no
  // --no-wait either.
  if (signal && no_wait) return "ctl signal: unexpected argument '--no-wait'";
  if (names.size() == (signal ? 1 : 0))
    return "ctl " + verb + ": missing NAME...";
  return {};
}

}  // namespace

int remote_main(int argc, char** argv) {
  CLI::App app{"vitrine: remote nodes (docs/distribution.md)"};
  refuse_flag_values(app);
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
  // The verb is checked once parsed: checked as CLI11 fills it, an
  // unknown option's value taken for it (`--state-dir DIR restart`) was
  // reported as a wrong verb, not as the unknown option it is.
  auto* verb_option =
      ctl->add_option("verb", verb,
                      "start, stop, restart or signal (SIG first)")
          ->required();
  check_names(
      ctl,
      ctl->add_option("names", names, "program names (signal: SIG NAME...)")
          ->required(),
      names, &verb);
  double ctl_timeout_s = 30;
  ctl->add_option("--timeout", ctl_timeout_s,
                  "seconds to wait for the effects (then exit 5)")
      ->capture_default_str()
      ->check(timeout_problem);
  bool ctl_no_wait = false;
  ctl->add_flag("--no-wait", ctl_no_wait,
                "return once the node applied each command, before its "
                "effect");
  add_tls(ctl, ctl_flags, "the controller's");
  add_timing(ctl, ctl_flags);
  watch_options watch_flags;
  auto* watch = add_watch_subcommand(app, watch_flags);
  spelled_out_values line{app, argc, argv};
  if (auto error = dashed_signal(line.argc(), line.argv()); !error.empty())
    return usage_error(error);
  try {
    app.parse(line.argc(), line.argv());
  } catch (const CLI::ParseError& e) {
    // A missing verb or argument, worded as the local ctl words it (CLI11
    // said "missing NAME..." of `ctl --node N frob` and of `... signal`);
    // arguments no command takes are reported first, by usage_text().
    const bool missing = dynamic_cast<const CLI::RequiredError*>(&e);
    if (missing && *ctl && app.remaining(true).empty())
      if (auto problem =
              remote_ctl_problem(*verb_option, verb, names, ctl_no_wait);
          !problem.empty())
        return usage_error(problem);
    return usage_error(app, e,
                       {line.argv(), static_cast<std::size_t>(line.argc())});
  }
  if (*ctl)
    if (auto problem =
            remote_ctl_problem(*verb_option, verb, names, ctl_no_wait);
        !problem.empty())
      return usage_error(problem);
  try {
    const auto checked = [&](int code) {
      return finish_stdout(app.get_subcommands().front()->get_name(), code);
    };
    if (*node) return checked(node_command(node_run, node_flags, insecure));
    if (*status)
      return exit_code_after_teardown(
          checked(status_command(status_flags, json, status_names)));
    if (*ctl)
      return exit_code_after_teardown(checked(ctl_command(
          ctl_flags, verb, names,
          std::chrono::milliseconds{std::llround(ctl_timeout_s * 1000)},
          ctl_no_wait)));
    if (*watch)  // checks stdout after each view
      return exit_code_after_teardown(watch_command(watch_flags));
  } catch (const std::exception& e) {
    // It may quote what the user gave (a TLS file's path) as given.
    const std::string_view what = e.what();
    std::cerr << (what.starts_with("vitrine: ") ? "" : "vitrine: ")
              << terminal_safe_lines(what) << "\n";
    return exit_code_after_teardown(1);
  }
  return 2;
}

}  // namespace vitrine::cli
