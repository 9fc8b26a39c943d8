// `status --node` and --timeout-ms against a node that does not answer, on
// loopback: a real `vitrine node` stopped with SIGSTOP (the kernel still
// accepts connections into its backlog) for less, then for more, than the
// timeout; a port that answers something else and closes; and ctl --node
// against a stop that takes long.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "cli_driver.hpp"
#include "support/freeze.hpp"
#include "support/leftovers.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using vitrine::test::run_cli;

/// `vitrine node` serving `web` (and the programs `more` adds, which
/// should name `token` in their command) on a free loopback port.
struct stoppable_node {
  explicit stoppable_node(
      const std::function<std::string(const std::string& token)>& more = {})
      : token(vitrine::test::unique_token()),
        log(dir.file("node.out")),
        node({"node",
              dir.write("node.toml",
                        "[[program]]\nname = \"web\"\ncommand = [\"sleep\", "
                        "\"1000." +
                            token + "\"]\nstartsecs_ms = 0\n" +
                            (more ? more(token) : "")),
              "--listen", "127.0.0.1:0", "--plain"},
             log) {
    const std::string prefix = "serving on 127.0.0.1:";
    REQUIRE(vitrine::test::wait_for_text(log, prefix, 20s, node.pid()));
    const auto text = vitrine::test::read_file(log);
    const auto at = text.find(prefix) + prefix.size();
    endpoint = "127.0.0.1:" + text.substr(at, text.find('\n', at) - at);
  }
  ~stoppable_node() {
    ::kill(node.pid(), SIGCONT);
    ::kill(node.pid(), SIGTERM);
    CHECK(node.wait(30s) == 0);
    CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
  }

  vitrine::test::temp_dir dir;
  std::string token, log;
  vitrine::test::cli_process node;
  std::string endpoint;
};

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

TEST_CASE("status --node waits up to --timeout-ms for a node stopped a while",
          "[cli][remote]") {
  stoppable_node n;
  REQUIRE(run_cli({"status", "--node", n.endpoint}).code == 0);
  // Stopped for a second, well within the 5 s timeout: once it resumes it
  // answers, and status succeeds (CAF used to drop the connection at its
  // next heartbeat tick, ~0.5 s, whatever --timeout-ms said).
  REQUIRE(vitrine::test::freeze(n.node.pid()));
  std::thread resume{[pid = n.node.pid()] {
    std::this_thread::sleep_for(1s);
    ::kill(pid, SIGCONT);
  }};
  const auto start = clock_type::now();
  auto status =
      run_cli({"status", "--node", n.endpoint, "--timeout-ms", "5000"});
  const double took = seconds_since(start);
  resume.join();
  INFO(status.output);
  CHECK(status.code == 0);
  CHECK(status.output.find("web") != std::string::npos);
  CHECK(status.output.find(" running ") != std::string::npos);
  CHECK(took >= 0.9);  // it did wait for the node
  CHECK(took < 5.0);

  // ctl --node too.
  REQUIRE(vitrine::test::freeze(n.node.pid()));
  std::thread resume_again{[pid = n.node.pid()] {
    std::this_thread::sleep_for(1s);
    ::kill(pid, SIGCONT);
  }};
  auto ctl = run_cli(
      {"ctl", "--node", n.endpoint, "--timeout-ms", "5000", "restart", "web"});
  resume_again.join();
  INFO(ctl.output);
  CHECK(ctl.code == 0);
  CHECK(ctl.output.find("web: running pid=") != std::string::npos);
}

TEST_CASE("a node stopped past --timeout-ms is reported as not answering",
          "[cli][remote]") {
  stoppable_node n;
  REQUIRE(vitrine::test::freeze(n.node.pid()));
  const auto start = clock_type::now();
  auto status =
      run_cli({"status", "--node", n.endpoint, "--timeout-ms", "1500"});
  const double took = seconds_since(start);
  INFO(status.output);
  CHECK(status.code == 1);
  CHECK(status.output.find("node " + n.endpoint +
                           " unreachable: it accepted the connection but "
                           "did not answer "
                           "within 1500 ms (a node stopped or overloaded? "
                           "a node with TLS, which answers only a TLS "
                           "controller? or not a node: a server that waits "
                           "for its client to speak first)") !=
        std::string::npos);
  CHECK(status.output.find("is this port a node's") == std::string::npos);
  CHECK(took >= 1.4);  // the whole timeout, not CAF's heartbeat tick
  CHECK(took < 1.5 + 3.0);
  // Resumed, it answers again.
  REQUIRE(::kill(n.node.pid(), SIGCONT) == 0);
  CHECK(
      run_cli({"status", "--node", n.endpoint, "--timeout-ms", "5000"}).code ==
      0);
}

TEST_CASE("a port that answers something else and closes is no vitrine node",
          "[cli][remote]") {
  vitrine::os::unique_fd listener{::socket(AF_INET, SOCK_STREAM, 0)};
  REQUIRE(listener);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address),
                 sizeof address) == 0);
  socklen_t size = sizeof address;
  REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address),
                        &size) == 0);
  REQUIRE(::listen(listener.get(), 16) == 0);
  // An HTTP-ish responder: each connection gets one reply, then is closed.
  std::thread responder{[fd = listener.get()] {
    for (;;) {
      vitrine::os::unique_fd peer{::accept(fd, nullptr, nullptr)};
      if (!peer) return;  // shut down below
      const char reply[] = "HTTP/1.0 200 OK\r\n\r\n";
      [[maybe_unused]] auto n = ::write(peer.get(), reply, sizeof reply - 1);
    }
  }};
  const std::string endpoint =
      "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  const auto start = clock_type::now();
  auto status = run_cli({"status", "--node", endpoint, "--timeout-ms", "5000"});
  const double took = seconds_since(start);
  ::shutdown(listener.get(), SHUT_RDWR);
  responder.join();
  INFO(status.output);
  CHECK(status.code == 1);
  CHECK(status.output.find("unreachable: no vitrine node answered") !=
        std::string::npos);
  CHECK(took < 4.0);  // an answer, not the timeout
}

TEST_CASE(
    "ctl --node sends every command first: a slow stop does not hold "
    "the next NAME's back",
    "[cli][remote][ctl]") {
  // stubborn ignores SIGTERM: its stop waits out stop_timeout_ms.
  stoppable_node n{[](const std::string& token) {
    return "[[program]]\nname = \"stubborn\"\ncommand = \": 1001." + token +
           "; trap '' TERM; while :; do sleep 1; done\"\n"
           "stop_timeout_ms = 4000\nstartsecs_ms = 0\n";
  }};
  const auto before = run_cli({"status", "--node", n.endpoint, "web"});
  REQUIRE(before.code == 0);
  const auto r = run_cli({"ctl", "--node", n.endpoint, "restart", "stubborn",
                          "web", "--timeout", "1"});
  INFO(r.output);
  // Before: web's restart went out when stubborn's wait gave up, and its
  // line read "(not confirmed)" with the old pid.
  CHECK(r.code == 5);
  CHECK(r.output.find("stubborn: stopping pid=") != std::string::npos);
  const auto web_line = r.output.substr(r.output.find("web: "));
  CHECK(web_line.starts_with("web: running pid="));
  CHECK(web_line.find("not confirmed") == std::string::npos);
}
