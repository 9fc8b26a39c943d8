// The remote tests' fixture: a node process (node_helper), a controller
// runtime mirroring it, and comparisons of the mirror with the node's own
// reads. Loopback only. Catch2 assertions inside: call from a test case's
// thread.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/loopback.hpp"
#include "support/piped_child.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::test {

using clock_type = std::chrono::steady_clock;
/// Upper bounds are loose: a loaded 2-core machine.
constexpr auto patience = std::chrono::seconds{20};

struct node_state {
  std::string status;
  pid_t pid = 0;
  unsigned restarts = 0;
  bool operator==(const node_state&) const = default;
};

/// A node process serving `count` programs (with TLS when `tls` is set;
/// `extra_env`, "NAME=value" each, added to its environment); SIGKILLed
/// and reaped at scope exit, its programs checked gone.
struct node_process {
  node_process(int count, int heartbeat_ms, int timeout_ms, int port = 0,
               const std::optional<tls_options>& tls = std::nullopt,
               std::vector<std::string> extra_env = {});
  ~node_process();

  /// The node's own reads (SIGUSR1 makes it print them).
  std::map<std::string, node_state> dump();

  remote_endpoint endpoint() const {
    return {"127.0.0.1", static_cast<std::uint16_t>(port)};
  }

  std::string token;
  piped_child child;
  unsigned port = 0;
};

runtime_options controller_options(
    int heartbeat_ms, int timeout_ms,
    const std::optional<tls_options>& tls = std::nullopt);

std::map<std::string, node_state> mirror_of(const node_handle& node);

/// Polls `pred` every 5 ms until it holds (true) or `patience` passes.
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = clock_type::now() + patience;
  while (!pred()) {
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return true;
}

/// Waits until the mirror shows what the node reads (the node is at rest).
bool mirror_converges(node_process& node, const node_handle& mirror);

bool all_running(const node_handle& node, std::size_t count);

/// A TCP connection to 127.0.0.1:port (the test fails if it cannot).
int connect_loopback(unsigned port);

/// A controller runtime mirroring `endpoint`, connected and synchronised
/// with `count` programs running.
struct controller_of {
  controller_of(const remote_endpoint& endpoint, int heartbeat_ms,
                int timeout_ms, std::size_t count,
                const std::optional<tls_options>& tls = std::nullopt);
  runtime rt;
  node_handle mirror;
};

}  // namespace vitrine::test
