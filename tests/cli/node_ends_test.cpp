// How `vitrine ctl --node` ends when the node goes away during its wait:
// lost (SIGKILLed) or stopping (SIGTERM, a stop under way). A node is a
// `vitrine node` process on loopback.
#include <signal.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "cli_driver.hpp"
#include "node_support.hpp"
#include "support/leftovers.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
using vitrine::test::run_cli;
using vitrine::test::served_port;

TEST_CASE("ctl --node says so when the node is lost before the effect",
          "[cli][remote]") {
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  const auto log = dir.file("node.out");
  // A stop the program ignores (TERM, inherited by its sleep) waits for
  // stop_timeout_ms; the node dies meanwhile.
  const std::string program =
      "[[program]]\nname = \"slow\"\ncommand = [\"/bin/sh\", \"-c\", "
      "\"trap '' TERM; sleep 1000." +
      token + "; :\"]\nstartsecs_ms = 0\nstop_timeout_ms = 20000\n" +
      "[[program]]\nname = \"next\"\ncommand = [\"sleep\", \"1000." + token +
      "\"]\nstartsecs_ms = 0\n";
  const auto config = dir.write("slow.toml", program);
  vitrine::test::cli_process node{{"node", config, "--listen", "127.0.0.1:0"},
                                  log};
  const std::string endpoint = "127.0.0.1:" + served_port(log, node.pid());
  const auto ctl_log = dir.file("ctl.out");
  vitrine::test::cli_process ctl{
      {"ctl", "--node", endpoint, "stop", "slow", "next", "--timeout", "20"},
      ctl_log};
  std::this_thread::sleep_for(1500ms);
  ::kill(node.pid(), SIGKILL);
  // `next`'s stop goes out after the node was lost: never applied, it
  // waited out --timeout (exit 5 after 20 s) until the loss ended its wait.
  const auto code = ctl.wait(15s);
  CHECK(code == std::optional<int>{1});
  const auto out = vitrine::test::read_file(ctl_log);
  INFO(out);
  CHECK(out.find("slow: unknown") != std::string::npos);
  CHECK(out.find("next: unknown") != std::string::npos);
  CHECK(vitrine::test::count_of(out, "(not confirmed)") == 2);
  CHECK(vitrine::test::count_of(out, "lost the node at") == 1);
  CHECK(out.find("lost the node at " + endpoint) != std::string::npos);
  // With its cause (found by a stranger: the docs promised one).
  CHECK(out.find("before the effect was seen: the connection closed (") !=
        std::string::npos);
  CHECK(node.wait(10s).has_value());
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}

// Found by a stranger: another controller's stop overtook a restart still
// in its startsecs; the restart's ctl --node waited out its whole
// --timeout (exit 5, "(not confirmed)") where the local ctl ends at once.
TEST_CASE(
    "ctl --node ends at once when another controller's command "
    "overtakes it",
    "[cli][remote]") {
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  const auto log = dir.file("node.out");
  const auto config =
      dir.write("slow.toml",
                "[[program]]\nname = \"slow\"\ncommand = [\"sleep\", "
                "\"1000." +
                    token + "\"]\nstartsecs_ms = 20000\nautostart = false\n");
  vitrine::test::cli_process node{{"node", config, "--listen", "127.0.0.1:0"},
                                  log};
  const std::string endpoint = "127.0.0.1:" + served_port(log, node.pid());
  const auto ctl_log = dir.file("ctl.out");
  const auto began = std::chrono::steady_clock::now();
  vitrine::test::cli_process restart{
      {"ctl", "--node", endpoint, "restart", "slow", "--timeout", "60"},
      ctl_log};
  // The restart is applied (slow is starting) before the stop is sent.
  bool starting = false;
  while (!starting && std::chrono::steady_clock::now() - began < 20s) {
    std::this_thread::sleep_for(100ms);
    starting = run_cli({"status", "--node", endpoint, "slow"})
                   .output.find("starting") != std::string::npos;
  }
  REQUIRE(starting);
  const auto stop = run_cli({"ctl", "--node", endpoint, "stop", "slow"});
  CHECK(stop.code == 0);
  const auto code = restart.wait(15s);
  const auto out = vitrine::test::read_file(ctl_log);
  INFO(out);
  CHECK(code == std::optional<int>{1});
  // The local ctl's line (before, `slow: stopped (another command...)`).
  CHECK(out.find("slow: FAILED: is stopped (last exit: ") != std::string::npos);
  CHECK(out.find("; another command to it was applied meanwhile\n") !=
        std::string::npos);
  CHECK(out.find("not confirmed") == std::string::npos);
  ::kill(node.pid(), SIGTERM);
  CHECK(node.wait(30s) == 0);
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}

TEST_CASE(
    "ctl --node on a node that is stopping ends at once, saying so, and "
    "nothing is started; status --node and watch say it too",
    "[cli][remote]") {
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  const auto log = dir.file("node.out");
  // `slow` ignores SIGTERM: the node's stop lasts its stop_timeout_ms.
  const auto config = dir.write(
      "stopping.toml",
      "[[program]]\nname = \"slow\"\ncommand = [\"/bin/sh\", \"-c\", "
      "\"trap '' TERM; sleep 1000." +
          token +
          "; :\"]\nstartsecs_ms = 0\nstop_timeout_ms = 10000\n"
          "[[program]]\nname = \"idle\"\ncommand = [\"sleep\", \"1000." +
          token + "\"]\nautostart = false\n");
  vitrine::test::cli_process node{{"node", config, "--listen", "127.0.0.1:0"},
                                  log};
  const std::string endpoint = "127.0.0.1:" + served_port(log, node.pid());
  REQUIRE(::kill(node.pid(), SIGTERM) == 0);
  REQUIRE(
      vitrine::test::wait_for_text(log, "received SIGTERM", 20s, node.pid()));
  const auto begin = std::chrono::steady_clock::now();
  const auto ctl =
      run_cli({"ctl", "--node", endpoint, "start", "idle", "--timeout", "20"});
  const auto took = std::chrono::steady_clock::now() - begin;
  INFO(ctl.output);
  CHECK(ctl.code == 1);
  CHECK(ctl.output.find("idle: stopped") != std::string::npos);
  CHECK(ctl.output.find("(not confirmed)") != std::string::npos);
  CHECK(ctl.output.find("the node at " + endpoint +
                        " is stopping: it carries out no more commands") !=
        std::string::npos);
  // Before: it waited until the node was gone (slow's 10 s stop).
  CHECK(took < 7s);
  // With --no-wait: no "sent;" for a command the node never applied (an
  // outside tester read it as applied).
  const auto no_wait = run_cli({"ctl", "--node", endpoint, "--no-wait", "start",
                                "idle", "--timeout", "20"});
  INFO(no_wait.output);
  CHECK(no_wait.code == 1);
  CHECK(no_wait.output.find("idle: stopped (not confirmed)") !=
        std::string::npos);
  CHECK(no_wait.output.find("sent;") == std::string::npos);
  // A controller that connects now learns it with the snapshot: status
  // says so (it said nothing before), and prints the states as they are.
  const auto status = run_cli({"status", "--node", endpoint});
  INFO(status.output);
  CHECK(status.code == 0);
  CHECK(status.output.find("the node at " + endpoint +
                           " is stopping: these are its states as it "
                           "stops") != std::string::npos);
  CHECK(status.output.find("slow") != std::string::npos);
  const auto watch =
      run_cli({"watch", "--node", endpoint, "--count", "1", "--json"});
  INFO(watch.output);
  CHECK(watch.code == 0);
  CHECK(watch.output.find("\"state\":\"stopping\"") != std::string::npos);
  CHECK(node.wait(30s) == std::optional<int>{0});
  // `idle` never ran: nothing of the token is left, and the node's log
  // shows no start of it.
  CHECK(vitrine::test::read_file(log).find("idle running") ==
        std::string::npos);
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}

TEST_CASE(
    "status --node, ctl --node and watch end on a frozen TLS node: CAF's "
    "spinning TLS handshake does not hold them",
    "[cli][remote][tls]") {
  // An outside tester: `status --node` to a SIGSTOPped TLS node ran for as
  // long as the node stayed stopped (10 minutes), a core busy, and watch
  // ignored SIGINT: the controller's actor system could not end while
  // CAF 0.17.6's TLS session spun on its handshake.
  vitrine::test::temp_dir dir;
  const vitrine::test::test_pki pki{dir};
  const auto token = vitrine::test::unique_token();
  const auto log = dir.file("node.out");
  const auto config = dir.write("tls.toml",
                                "[[program]]\nname = \"web\"\ncommand = "
                                "[\"sleep\", \"1000." +
                                    token + "\"]\nstartsecs_ms = 0\n");
  std::vector<std::string> node_args{"node", config, "--listen", "127.0.0.1:0"};
  for (auto& flag :
       vitrine::test::tls_flags(pki.node_cert, pki.node_key, pki.ca))
    node_args.push_back(flag);
  vitrine::test::cli_process node{node_args, log};
  const std::string endpoint = "127.0.0.1:" + served_port(log, node.pid());
  const auto client = [&](std::vector<std::string> args) {
    for (auto& flag : vitrine::test::tls_flags(pki.controller_cert,
                                               pki.controller_key, pki.ca))
      args.push_back(flag);
    return args;
  };
  REQUIRE(run_cli(client({"status", "--node", endpoint})).code == 0);
  REQUIRE(::kill(node.pid(), SIGSTOP) == 0);
  for (const auto& args :
       {client({"status", "--node", endpoint, "--timeout-ms", "1000"}),
        client({"ctl", "--node", endpoint, "--timeout-ms", "1000", "stop",
                "web"})}) {
    const auto begin = std::chrono::steady_clock::now();
    const auto r = run_cli(args);
    const auto took = std::chrono::steady_clock::now() - begin;
    INFO(args[0] << ": " << r.output);
    CHECK(r.code == 1);
    CHECK(r.output.find("unreachable") != std::string::npos);
    CHECK(took < 10s);  // 1 s, then at most the teardown's 0.5 s
  }
  const auto watch_log = dir.file("watch.out");
  vitrine::test::cli_process watch{client({"watch", "--node", endpoint}),
                                   watch_log};
  std::this_thread::sleep_for(1500ms);
  REQUIRE(::kill(watch.pid(), SIGINT) == 0);
  CHECK(watch.wait(10s) == std::optional<int>{0});
  ::kill(node.pid(), SIGCONT);
  ::kill(node.pid(), SIGTERM);
  CHECK(node.wait(30s) == std::optional<int>{0});
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}

TEST_CASE(
    "ctl --node prints the local ctl's lines: a failed program with its "
    "last exit, one a reload removes with the removal",
    "[cli][remote]") {
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  const auto log = dir.file("node.out");
  // `stub` ignores TERM: a removal's stop lasts its stop timeout.
  const std::string stub =
      "[[program]]\nname = \"stub\"\ncommand = [\"/bin/sh\", \"-c\", "
      "\"trap '' TERM; sleep 1000." +
      token + "; :\"]\nstartsecs_ms = 0\nstop_timeout_ms = 8000\n";
  const std::string bad =
      "[[program]]\nname = \"bad\"\ncommand = [\"false\"]\nstartsecs_ms = "
      "100\nstartretries = 0\n";
  const auto config = dir.write("ends.toml", bad + stub);
  vitrine::test::cli_process node{{"node", config, "--listen", "127.0.0.1:0"},
                                  log};
  const std::string endpoint = "127.0.0.1:" + served_port(log, node.pid());
  REQUIRE(vitrine::test::wait_for_text(log, " bad failed ", 20s, node.pid()));
  const auto failed = run_cli({"ctl", "--node", endpoint, "start", "bad"});
  INFO(failed.output);
  CHECK(failed.code == 1);
  // Before: `bad: failed`, without the reason.
  CHECK(failed.output.find("bad: FAILED: is failed (last exit: exit 1)") !=
        std::string::npos);
  // A restart of stub waits for its stop (8 s); a reload removes stub
  // meanwhile. Before: reported once that stop ended, as overtaken.
  const auto ctl_log = dir.file("ctl.out");
  const auto began = std::chrono::steady_clock::now();
  vitrine::test::cli_process restart{
      {"ctl", "--node", endpoint, "restart", "stub", "--timeout", "30"},
      ctl_log};
  REQUIRE(
      vitrine::test::wait_for_text(log, " stub stopping ", 20s, node.pid()));
  dir.write("ends.toml", bad);
  REQUIRE(::kill(node.pid(), SIGHUP) == 0);
  const auto code = restart.wait(30s);
  const auto took = std::chrono::steady_clock::now() - began;
  const auto out = vitrine::test::read_file(ctl_log);
  INFO(out);
  CHECK(code == std::optional<int>{1});
  CHECK(out.find("stub: FAILED: was removed from the run (by a reload) "
                 "before the effect was seen") != std::string::npos);
  CHECK(took < 7s);  // not after the 8 s stop
  ::kill(node.pid(), SIGTERM);
  CHECK(node.wait(30s) == 0);
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}
