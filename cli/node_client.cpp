// The one-shot controller of `status --node` and `ctl --node`
// (node_client.hpp).
#include "node_client.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "commands.hpp"
#include "text_escape.hpp"
#include "vitrine/os/tcp_connect.hpp"

namespace vitrine::cli {
namespace {

using clock_type = std::chrono::steady_clock;

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

}  // namespace

remote_endpoint endpoint_or_throw(const std::string& text) {
  auto e = remote_endpoint::parse(text);
  if (!e) throw std::runtime_error("not HOST:PORT: " + terminal_safe(text));
  return *e;
}

runtime_options one_shot_options(const remote_flags& f) {
  auto o = options_for(f);
  o.remoting.drop_silent_connections = false;
  return o;
}

namespace {
/// The runtime a client_runtime handed off, to be ended last (at most one).
std::unique_ptr<runtime>& handed_off() {
  static std::unique_ptr<runtime> held;
  return held;
}
}  // namespace

client_runtime::client_runtime(const runtime_options& options)
    : rt_(std::make_unique<runtime>(options)) {}

client_runtime::~client_runtime() {
  handed_off() = std::move(rt_);
}

int exit_code_after_teardown(int code) {
  std::cout.flush();
  std::cerr.flush();
  if (!handed_off()) return code;
  // Ended here, on the thread that made it (CAF's actor system waited for
  // ever when another thread ended it); a watchdog exits past the limit.
  std::promise<void> ended;
  std::thread watchdog{[code, done = ended.get_future()] {
    if (done.wait_for(teardown_limit) == std::future_status::ready) return;
    std::fflush(nullptr);
    std::_Exit(code);
  }};
  handed_off().reset();
  ended.set_value();
  watchdog.join();
  return code;
}

node_handle connect_or_throw(runtime& rt, const remote_flags& f) {
  const auto endpoint = endpoint_or_throw(f.endpoint);
  const std::chrono::milliseconds timeout{f.timeout_ms};
  // Does the port take a TCP connection at all? Asked only of a node
  // still silent halfway through the wait, to say why at its end: the
  // connection costs a TLS node one of its handshakes a second (before,
  // every command made it, and a node allowing one a second from an
  // address refused every `status --node` from there).
  std::future<os::tcp_connect_status> tcp;
  const auto ask_tcp = [&] {
    tcp = std::async(std::launch::async, [host = endpoint.host,
                                          port = endpoint.port, timeout] {
      // The connection itself is closed at once.
      return os::connect_tcp(host, port, clock_type::now() + timeout / 2)
          .status;
    });
  };
  connect_options o;
  // Longer than the wait below: within it an attempt ends only with an
  // answer (a refusal, a peer that is not a node), never by its timer.
  o.attempt_timeout = timeout + std::chrono::seconds{1};
  auto node = rt.connect(endpoint, o);
  // One attempt: a refused connection or a name that does not resolve is
  // an answer, not a reason to wait out the timeout.
  const auto deadline = clock_type::now() + timeout;
  const auto halfway = deadline - timeout / 2;
  // One wording for every cause: "node HOST:PORT unreachable: WHY".
  const auto unreachable = [&](const std::string& why) {
    return std::runtime_error("node " + terminal_safe(f.endpoint) +
                              " unreachable: " + why);
  };
  while (!node.wait_connected(
      std::min(deadline, clock_type::now() + std::chrono::milliseconds{20}))) {
    if (auto why = node.last_error(); !why.empty())
      throw unreachable(terminal_safe(why));
    if (!tcp.valid() && clock_type::now() >= halfway) ask_tcp();
    if (clock_type::now() >= deadline) {
      if (!tcp.valid()) ask_tcp();
      throw unreachable(silent_node(f, tcp.get()));
    }
  }
  return node;
}

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

}  // namespace vitrine::cli
