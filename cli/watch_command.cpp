// `vitrine watch`: a live table of several remote nodes (watch_command.hpp).
#include "watch_command.hpp"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <ctime>
#include <iostream>
#include <map>

#include "node_client.hpp"
#include "remote_flags.hpp"
#include "render.hpp"
#include "stdout_check.hpp"
#include "text_escape.hpp"
#include "vitrine/os/tcp_connect.hpp"
#include "vitrine/runtime.hpp"
#include "watch_view.hpp"

namespace vitrine::cli {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Waits for one of `stop` until `deadline`; the signal, or 0 at the
/// deadline.
int wait_for_stop(const sigset_t& stop, clock_type::time_point deadline) {
  for (;;) {
    const auto left = deadline - clock_type::now();
    if (left <= clock_type::duration::zero()) return 0;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left);
    timespec ts{static_cast<time_t>(ns.count() / 1'000'000'000),
                static_cast<long>(ns.count() % 1'000'000'000)};
    const int sig = sigtimedwait(&stop, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno != EINTR && errno != EAGAIN) return 0;
  }
}

struct watched {
  std::string endpoint;
  node_handle node;
};

watched_node snapshot(const watched& w, const clock_pair& now) {
  watched_node out;
  out.endpoint = w.endpoint;
  // A node that is stopping is still connected: its states go on coming.
  out.state = w.node.status() == node_status::connected && w.node.stopping()
                  ? "stopping"
                  : std::string{to_string(w.node.status())};
  const auto contact = w.node.last_contact();
  if (contact != node_handle::clock::time_point{})
    out.last_contact_ms = now.unix_ms(contact);
  out.synchronisations = w.node.synchronisations();
  out.missed_transitions = w.node.missed_transitions();
  if (w.node.status() != node_status::connected)
    out.last_error = w.node.last_error();
  for (const auto& h : w.node.processes())
    out.processes.push_back(remote_row(w.node, h, now));
  return out;
}

winsize terminal_size() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0) return {};
  return size;
}

/// Prints one refresh: in place on a terminal, else a block and a blank
/// line, or a JSON line.
void show(const std::vector<watched>& nodes, bool json, bool terminal) {
  const auto now = clock_pair::now();
  std::vector<watched_node> view;
  view.reserve(nodes.size());
  for (const auto& w : nodes) view.push_back(snapshot(w, now));
  if (json) {
    std::cout << watch_json_line(view, now.unix_ms());
  } else if (terminal) {
    // Home and clear, then what fits of the table (the last line stays
    // free: a newline there would scroll), in one write.
    const winsize size = terminal_size();
    std::cout << "\x1b[H\x1b[2J" +
                     fit_height(
                         format_clock(now.unix_ms()) +
                             "  (Ctrl-C stops watching)\n" +
                             render_watch(view, now.unix_ms(), size.ws_col),
                         size.ws_row > 2 ? size.ws_row - 1u : 0u);
  } else {
    std::cout << render_watch(view, now.unix_ms()) << "\n";
  }
  std::cout.flush();
}

/// Throws a usage error when two of `nodes` name one node: the same
/// endpoint (host names compared without case or a trailing '.', "07000"
/// as "7000"), or
/// names of one address ("localhost:4100" and "127.0.0.1:4100").
void refuse_aliases(const std::vector<std::string>& nodes) {
  if (nodes.size() < 2) return;              // no name lookup for one node
  std::vector<std::string> spelled;          // each --node, normalised
  std::map<std::string, std::size_t> owner;  // address -> its first --node
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    auto endpoint = *remote_endpoint::parse(nodes[i]);
    std::transform(endpoint.host.begin(), endpoint.host.end(),
                   endpoint.host.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (endpoint.host.size() > 1 && endpoint.host.back() == '.')
      endpoint.host.pop_back();  // "node." is the rooted spelling of "node"
    spelled.push_back(endpoint.to_string());
    auto keys = os::tcp_addresses(endpoint.host, endpoint.port);
    keys.push_back(spelled.back());
    for (const auto& key : keys) {
      const auto [at, added] = owner.emplace(key, i);
      if (added || at->second == i) continue;
      const auto& first = nodes[at->second];
      throw CLI::ValidationError(
          "--node", spelled[at->second] == spelled.back()
                        ? "'" + terminal_safe(nodes[i]) + "' is given twice"
                        : "'" + terminal_safe(first) + "' and '" +
                              terminal_safe(nodes[i]) +
                              "' name the same node (both reach " + key + ")");
    }
  }
}

bool all_connected(const std::vector<watched>& nodes) {
  for (const auto& w : nodes)
    if (w.node.status() != node_status::connected) return false;
  return true;
}

}  // namespace

CLI::App* add_watch_subcommand(CLI::App& app, watch_options& o) {
  auto* cmd = app.add_subcommand(
      "watch", "a live table of the processes of several nodes");
  // One HOST:PORT per --node: a vector option of CLI11 takes every word
  // up to the next option (`--node A B` watched B too).
  cmd->add_option("--node", o.nodes, "HOST:PORT of a node (repeat for more)")
      ->required()
      ->allow_extra_args(false)
      ->check(endpoint_check());
  cmd->add_option("--interval", o.interval_ms, "milliseconds between refreshes")
      ->capture_default_str()
      ->transform(whole_number_in(1, 3'600'000));
  cmd->add_option("--count", o.count, "refresh N times, then exit")
      ->transform(whole_number_in(1, 1'000'000'000));
  cmd->add_flag("--json", o.json, "print one JSON object per refresh");
  add_tls(cmd, o.remote, "the controller's");
  add_timing(cmd, o.remote);
  cmd->callback([&o] { refuse_aliases(o.nodes); });
  return cmd;
}

int watch_command(const watch_options& o) {
  // Before any thread starts: CAF's threads inherit the blocked mask, and
  // only this thread takes the stop signals (sigtimedwait).
  sigset_t stop;
  sigemptyset(&stop);
  for (int s : {SIGINT, SIGTERM, SIGQUIT}) sigaddset(&stop, s);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  if (const auto warning = timing_warning(o.remote); !warning.empty())
    std::cerr << "vitrine: " << warning << "\n";
  client_runtime rt{options_for(o.remote)};
  connect_options co;
  co.attempt_timeout = milliseconds{o.remote.timeout_ms};
  std::vector<watched> nodes;
  for (const auto& text : o.nodes)
    nodes.push_back({text, rt->connect(*remote_endpoint::parse(text), co)});
  const bool terminal = !o.json && ::isatty(STDOUT_FILENO);
  const milliseconds interval{o.interval_ms};
  // The first refresh waits (up to one interval) for the nodes to answer,
  // so that a quick look does not show every node `connecting`.
  const auto first = clock_type::now() + interval;
  int sig = 0;
  while (sig == 0 && !all_connected(nodes) && clock_type::now() < first)
    sig = wait_for_stop(stop,
                        std::min(first, clock_type::now() + milliseconds{10}));
  auto next = clock_type::now();
  int status = 0;
  for (int shown = 0; sig == 0;) {
    show(nodes, o.json, terminal);
    // A reader that went away (`| head`) ends watch by SIGPIPE, or, where
    // SIGPIPE was inherited ignored or blocked, quietly with 0 on EPIPE;
    // any other failed write (a full disk) ends it with 1.
    if (const auto out = check_stdout("watch"); out != stdout_state::fine) {
      status = out == stdout_state::failed ? 1 : 0;
      break;
    }
    if (o.count && ++shown >= o.count) break;
    // After a stall (a slow terminal, a stopped process), no burst of
    // refreshes: the next one is an interval from now.
    next += interval;
    if (next < clock_type::now()) next = clock_type::now() + interval;
    sig = wait_for_stop(stop, next);
  }
  for (auto& w : nodes) w.node.close();
  return status;  // the runtime is ended last (client_runtime)
}

}  // namespace vitrine::cli
