// The remote commands: `vitrine node`, `status --node`, `ctl --node`
// (node_commands.hpp).
#include "node_commands.hpp"

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "node_serving.hpp"
#include "remote_flags.hpp"
#include "runner_subcommands.hpp"
#include "text_escape.hpp"
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

/// Connects and waits for the first snapshot; throws when unreachable.
node_handle connect_or_throw(runtime& rt, const remote_flags& f) {
  connect_options o;
  o.attempt_timeout = std::chrono::milliseconds{f.timeout_ms};
  auto node = rt.connect(endpoint_or_throw(f.endpoint), o);
  if (!node.wait_connected(clock_type::now() +
                           std::chrono::milliseconds{f.timeout_ms}))
    throw std::runtime_error("node " + terminal_safe(f.endpoint) +
                             " unreachable within " +
                             std::to_string(f.timeout_ms) + " ms");
  return node;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

int status_command(const remote_flags& f, bool json) {
  runtime rt{options_for(f)};
  auto node = connect_or_throw(rt, f);
  const auto processes = node.processes();
  std::string out;
  if (json)
    out += "[";
  else
    out += "NAME STATUS PID RESTARTS EXIT\n";
  bool first = true;
  for (const auto& h : processes) {
    auto s = h.read();
    if (json) {
      out += first ? "\n" : ",\n";
      out += "  {\"name\": " + json_string(h.name()) +
             ", \"status\": " + json_string(to_string(s->status)) +
             ", \"pid\": " + std::to_string(s->pid) +
             ", \"restarts\": " + std::to_string(s->restart_count) +
             ", \"last_exit\": " + json_string(describe(s->last_exit)) + "}";
    } else {
      out += terminal_safe(h.name()) + " " + std::string{to_string(s->status)} +
             " " + std::to_string(s->pid) + " " +
             std::to_string(s->restart_count) + " " + describe(s->last_exit) +
             "\n";
    }
    first = false;
  }
  if (json) out += "\n]\n";
  std::cout << out << std::flush;
  return 0;
}

/// The command's effect is published: stop once at rest, start once up
/// (or given up), restart once a new child runs (or given up); an
/// unreachable node (`unknown`) ends the wait too.
bool settled(const std::string& verb, pid_t before,
             const core::process_state& s) {
  using core::process_status;
  switch (s.status) {
    case process_status::unknown:
    case process_status::exited:
    case process_status::failed:
      return true;
    case process_status::stopped:
      return verb != "restart";
    case process_status::running:
      return verb == "start" || (verb == "restart" && s.pid != before);
    default:
      return false;
  }
}

/// `ctl --node`: every name is resolved first (an unknown one: nothing is
/// done, as in the local ctl); then each command is sent and its effect
/// awaited, all within `timeout` (exit_ctl_timeout past it).
int ctl_command(const remote_flags& f, const std::string& verb,
                const std::vector<std::string>& names,
                std::chrono::milliseconds timeout) {
  runtime rt{options_for(f)};
  auto node = connect_or_throw(rt, f);
  std::vector<process_handle> targets;
  std::vector<std::string> unknown;
  for (const auto& name : names) {
    if (auto h = node.find(name))
      targets.push_back(std::move(h));
    else
      unknown.push_back(terminal_safe(name));
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& name : unknown)
      list += (list.empty() ? "'" : ", '") + name + "'";
    std::cerr << "vitrine: "
              << (unknown.size() == 1 ? "unknown name " : "unknown names ")
              << list << " on " << terminal_safe(f.endpoint)
              << ": nothing was done\n";
    return 1;
  }
  const auto deadline = clock_type::now() + timeout;
  bool timed_out = false, failed = false;
  for (const auto& h : targets) {
    const pid_t before = h.read()->pid;
    auto cmd = verb == "start"  ? h.start()
               : verb == "stop" ? h.stop()
                                : h.restart();
    const bool applied = cmd.wait_until(
        [&](const core::process_state& s) { return settled(verb, before, s); },
        deadline);
    auto s = h.read();
    std::cout << terminal_safe(h.name()) << ": " << to_string(s->status);
    if (s->pid) std::cout << " pid " << s->pid;
    std::cout << (applied ? "" : " (not confirmed)") << "\n";
    using core::process_status;
    const bool ok = s->status == process_status::exited ||
                    (verb == "stop" ? s->status != process_status::unknown
                                    : s->status == process_status::running);
    timed_out = timed_out || !applied;
    failed = failed || (applied && !ok);
  }
  return timed_out ? exit_ctl_timeout : failed ? 1 : 0;
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
  status->add_flag("--json", json, "print a JSON array");
  add_tls(status, status_flags, "the controller's");
  add_timing(status, status_flags);
  std::string verb;
  std::vector<std::string> names;
  auto* ctl = app.add_subcommand("ctl", "command programs of a remote node");
  ctl->add_option("--node", ctl_flags.endpoint, "HOST:PORT")
      ->required()
      ->check(endpoint_check());
  ctl->add_option("verb", verb, "start, stop or restart")
      ->required()
      ->check(CLI::IsMember({"start", "stop", "restart"}));
  ctl->add_option("names", names, "program names")->required();
  double ctl_timeout_s = 30;
  ctl->add_option("--timeout", ctl_timeout_s,
                  "seconds to wait for the effects (then exit 5)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  add_tls(ctl, ctl_flags, "the controller's");
  add_timing(ctl, ctl_flags);
  watch_options watch_flags;
  auto* watch = add_watch_subcommand(app, watch_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (*node) return node_command(node_run, node_flags, insecure);
    if (*status) return status_command(status_flags, json);
    if (*ctl)
      return ctl_command(
          ctl_flags, verb, names,
          std::chrono::milliseconds{std::llround(ctl_timeout_s * 1000)});
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
