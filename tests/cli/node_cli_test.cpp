// `vitrine node`, `vitrine status --node`, `vitrine ctl --node` driven as a
// user would, on loopback: a node is a `vitrine node` process; status and
// ctl are one-shot controllers.
#include <signal.h>

#include <catch2/catch.hpp>

#include <sstream>

#include "cli_driver.hpp"
#include "support/leftovers.hpp"

namespace {

using namespace std::chrono_literals;
using vitrine::test::run_cli;

std::string node_config(const vitrine::test::temp_dir& dir,
                        const std::string& token) {
  return dir.write("node.toml",
                   "[[program]]\nname = \"web\"\ncommand = [\"sleep\", "
                   "\"1000." +
                       token +
                       "\"]\nstartsecs_ms = 0\n"
                       "[[program]]\nname = \"worker\"\ncommand = [\"sleep\", "
                       "\"1001." +
                       token + "\"]\nstartsecs_ms = 0\n");
}

/// The port `vitrine node --listen 127.0.0.1:0` printed.
std::string served_port(const std::string& output_path, pid_t node) {
  REQUIRE(vitrine::test::wait_for_text(output_path,
                                       "serving on 127.0.0.1:", 20s, node));
  const auto text = vitrine::test::read_file(output_path);
  const auto at = text.find("127.0.0.1:") + 10;
  return text.substr(at, text.find('\n', at) - at);
}

}  // namespace

TEST_CASE("vitrine status and ctl --node read and command a remote node",
          "[cli][remote]") {
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  const auto log = dir.file("node.out");
  {
    vitrine::test::cli_process node{
        {"node", node_config(dir, token), "--listen", "127.0.0.1:0"}, log};
    const std::string endpoint = "127.0.0.1:" + served_port(log, node.pid());

    auto status = run_cli({"status", "--node", endpoint});
    CHECK(status.code == 0);
    CHECK(vitrine::test::count_of(status.output, " running ") == 2);

    auto json = run_cli({"status", "--node", endpoint, "--json"});
    CHECK(json.code == 0);
    CHECK(json.output.find("\"name\": \"web\", \"status\": \"running\"") !=
          std::string::npos);

    auto restart = run_cli({"ctl", "--node", endpoint, "restart", "web"});
    CHECK(restart.code == 0);
    CHECK(restart.output.find("web: running pid ") != std::string::npos);
    auto after = run_cli({"status", "--node", endpoint});
    CHECK(after.output.find("web running") != std::string::npos);
    CHECK(after.output.find("signal 15 (SIGTERM)") != std::string::npos);

    CHECK(run_cli({"ctl", "--node", endpoint, "restart", "nope"}).code == 1);

    ::kill(node.pid(), SIGTERM);
    CHECK(node.wait(30s) == 0);
  }
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}

TEST_CASE("vitrine status --node fails within the timeout when unreachable",
          "[cli][remote]") {
  // Port 1 on loopback: nothing listens there (connection refused).
  const auto start = std::chrono::steady_clock::now();
  auto r = run_cli({"status", "--node", "127.0.0.1:1", "--timeout-ms", "500"});
  CHECK(r.code == 1);
  CHECK(r.output.find("unreachable") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < 20s);
}

TEST_CASE("vitrine node refuses a non-loopback address without --insecure",
          "[cli][remote]") {
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  auto r = run_cli({"node", node_config(dir, token), "--listen", "0.0.0.0:0"});
  CHECK(r.code == 1);
  CHECK(r.output.find("refusing to serve on 0.0.0.0") != std::string::npos);
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}
