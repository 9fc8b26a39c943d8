#include "remote_fixture.hpp"

#include <signal.h>

#include <sstream>
#include <thread>

#include "support/leftovers.hpp"

namespace vitrine::test {
namespace {

std::vector<std::string> helper_argv(int count, const std::string& token,
                                     int heartbeat_ms, int timeout_ms, int port,
                                     const std::optional<tls_options>& tls) {
  std::vector<std::string> argv{VITRINE_NODE_HELPER,
                                std::to_string(count),
                                token,
                                std::to_string(heartbeat_ms),
                                std::to_string(timeout_ms),
                                std::to_string(port)};
  if (tls) argv.insert(argv.end(), {tls->certificate, tls->key, tls->ca_file});
  return argv;
}

}  // namespace

node_process::node_process(int count, int heartbeat_ms, int timeout_ms,
                           int port, const std::optional<tls_options>& tls,
                           std::vector<std::string> extra_env)
    : token(unique_token()),
      child(helper_argv(count, token, heartbeat_ms, timeout_ms, port, tls),
            std::move(extra_env)) {
  auto out = child.read_until("ready\n", std::chrono::seconds{30});
  REQUIRE(out);
  std::istringstream in{*out};
  std::string word;
  in >> word >> this->port;
  REQUIRE(word == "port");
}

node_process::~node_process() {
  ::kill(child.pid(), SIGCONT);
  ::kill(child.pid(), SIGKILL);
  child.reap();
  // The node's guardian kills its programs when the node dies.
  CHECK(time_until_none(token, patience).count() >= 0);
  kill_all_with(token);
}

std::map<std::string, node_state> node_process::dump() {
  ::kill(child.pid(), SIGUSR1);
  auto out = child.read_until("dump-end\n", std::chrono::seconds{10});
  REQUIRE(out);
  std::map<std::string, node_state> states;
  std::istringstream in{*out};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words{line};
    std::string tag, name;
    node_state s;
    if (words >> tag >> name >> s.status >> s.pid >> s.restarts &&
        tag == "state")
      states[name] = s;
  }
  return states;
}

runtime_options controller_options(int heartbeat_ms, int timeout_ms,
                                   const std::optional<tls_options>& tls) {
  runtime_options o;
  o.remoting.enabled = true;
  o.remoting.heartbeat_interval = std::chrono::milliseconds{heartbeat_ms};
  o.remoting.connection_timeout = std::chrono::milliseconds{timeout_ms};
  o.remoting.tls = tls;
  return o;
}

std::map<std::string, node_state> mirror_of(const node_handle& node) {
  std::map<std::string, node_state> states;
  for (const auto& h : node.processes()) {
    auto s = h.read();
    states[std::string{h.name()}] = {std::string{to_string(s->status)}, s->pid,
                                     s->restart_count};
  }
  return states;
}

bool mirror_converges(node_process& node, const node_handle& mirror) {
  const auto expected = node.dump();
  const auto deadline = clock_type::now() + patience;
  while (clock_type::now() < deadline) {
    if (mirror_of(mirror) == expected) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  UNSCOPED_INFO("mirror never matched the node's reads");
  return false;
}

bool all_running(const node_handle& node, std::size_t count) {
  auto handles = node.processes();
  if (handles.size() != count) return false;
  for (const auto& h : handles)
    if (!h.wait_for_status(core::process_status::running,
                           clock_type::now() + patience))
      return false;
  return true;
}

controller_of::controller_of(const remote_endpoint& endpoint, int heartbeat_ms,
                             int timeout_ms, std::size_t count,
                             const std::optional<tls_options>& tls)
    : rt(controller_options(heartbeat_ms, timeout_ms, tls)),
      mirror(rt.connect(endpoint)) {
  REQUIRE(mirror.wait_connected(clock_type::now() + patience));
  REQUIRE(all_running(mirror, count));
}

int connect_loopback(unsigned port) {
  const int fd = try_connect_loopback(port);
  REQUIRE(fd >= 0);
  return fd;
}

}  // namespace vitrine::test
