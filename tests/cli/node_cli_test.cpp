// `vitrine node`, `vitrine status --node`, `vitrine ctl --node` driven as a
// user would, on loopback: a node is a `vitrine node` process; status and
// ctl are one-shot controllers.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli_driver.hpp"
#include "node_support.hpp"
#include "support/leftovers.hpp"
#include "support/test_pki.hpp"
#include "vitrine/vitrine.hpp"

namespace {

using namespace std::chrono_literals;
using vitrine::test::run_cli;
using vitrine::test::served_port;
using vitrine::test::tls_flags;

std::string node_config(const vitrine::test::temp_dir& dir,
                        const std::string& token,
                        const std::string& more_programs = "") {
  return dir.write("node.toml",
                   "[[program]]\nname = \"web\"\ncommand = [\"sleep\", "
                   "\"1000." +
                       token +
                       "\"]\nstartsecs_ms = 0\n"
                       "[[program]]\nname = \"worker\"\ncommand = [\"sleep\", "
                       "\"1001." +
                       token + "\"]\nstartsecs_ms = 0\n" + more_programs);
}

std::vector<std::string> operator+(std::vector<std::string> a,
                                   const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("vitrine status and ctl --node read and command a remote node",
          "[cli][remote]") {
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  const auto log = dir.file("node.out");
  {
    vitrine::test::cli_process node{
        {"node",
         node_config(dir, token,
                     // Not started; once started, `starting` for a minute:
                     // an effect no --timeout of 1 ms can see.
                     "[[program]]\nname = \"slow\"\ncommand = [\"sleep\", "
                     "\"1002." +
                         token +
                         "\"]\nstartsecs_ms = 60000\nautostart = false\n"),
         "--listen", "127.0.0.1:0"},
        log};
    const std::string endpoint = "127.0.0.1:" + served_port(log, node.pid());

    auto status = run_cli({"status", "--node", endpoint});
    CHECK(status.code == 0);
    CHECK(vitrine::test::count_of(status.output, " running ") == 2);
    CHECK(vitrine::test::count_of(status.output, " stopped ") == 1);

    // --json: the object the local status and --json-status print, with
    // the node's real pids.
    auto json = run_cli({"status", "--node", endpoint, "--json"});
    CHECK(json.code == 0);
    const auto doc = nlohmann::json::parse(json.output);
    REQUIRE(doc["processes"].size() == 3);
    CHECK(doc["supervisors"].empty());
    for (const auto& p : doc["processes"]) {
      if (p["name"] == "slow") {
        CHECK(p["status"] == "stopped");
        continue;
      }
      CHECK(p["status"] == "running");
      CHECK(p["last_exit"]["kind"] == "none");
      CHECK(::kill(p["pid"].get<pid_t>(), 0) == 0);
    }
    // NAMEs limit the table; an unknown one is an error naming it.
    auto one = run_cli({"status", "--node", endpoint, "worker"});
    CHECK(one.code == 0);
    CHECK(one.output.find("worker") != std::string::npos);
    CHECK(one.output.find("web") == std::string::npos);
    // In the node's order, as the local status lists a run's (an outside
    // tester found them in the order typed).
    auto both = run_cli({"status", "--node", endpoint, "worker", "web"});
    CHECK(both.code == 0);
    CHECK(both.output.find("web") < both.output.find("worker"));
    auto nope = run_cli({"status", "--node", endpoint, "web", "nope"});
    CHECK(nope.code == 1);
    CHECK(nope.output.find("unknown name 'nope'") != std::string::npos);

    const auto version_of = [&](const std::string& name) {
      const auto d = nlohmann::json::parse(
          run_cli({"status", "--node", endpoint, name, "--json"}).output);
      return d["processes"][0]["version"].get<std::uint64_t>();
    };
    const auto version_before = version_of("web");
    auto restart = run_cli({"ctl", "--node", endpoint, "restart", "web"});
    CHECK(restart.code == 0);
    CHECK(restart.output.find("web: running pid=") != std::string::npos);
    auto after = run_cli({"status", "--node", endpoint});
    CHECK(after.output.find("web     running") != std::string::npos);
    CHECK(after.output.find("signal 15 (SIGTERM)") != std::string::npos);
    // The node's own version, grown by the restart (stopping, running at
    // least), not each new controller's first publication (1).
    CHECK(version_of("web") >= version_before + 2);

    CHECK(run_cli({"ctl", "--node", endpoint, "restart", "nope"}).code == 1);
    // An unknown name among others: nothing is done (as in the local ctl).
    auto mixed = run_cli({"ctl", "--node", endpoint, "stop", "nope", "web"});
    CHECK(mixed.code == 1);
    CHECK(mixed.output.find("unknown name 'nope'") != std::string::npos);
    CHECK(mixed.output.find("nothing was done") != std::string::npos);
    CHECK(vitrine::test::count_of(
              run_cli({"status", "--node", endpoint}).output, " running ") ==
          2);
    // signal SIG NAME...: KILL reaches web's child, which is restarted.
    const auto pid_of = [&](const std::string& name) {
      const auto d = nlohmann::json::parse(
          run_cli({"status", "--node", endpoint, name, "--json"}).output);
      return d["processes"][0]["pid"].get<pid_t>();
    };
    const pid_t killed = pid_of("web");
    auto sent = run_cli({"ctl", "--node", endpoint, "signal", "KILL", "web"});
    CHECK(sent.code == 0);
    CHECK(sent.output.find("web: sent; running pid=") != std::string::npos);
    const auto until = std::chrono::steady_clock::now() + 20s;
    while ((pid_of("web") == killed || pid_of("web") == 0) &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(50ms);
    CHECK(pid_of("web") != killed);
    CHECK(::kill(killed, 0) != 0);
    CHECK(run_cli({"ctl", "--node", endpoint, "signal", "BOGUS", "web"}).code ==
          2);
    // A program without a child: the node answers ESRCH.
    CHECK(run_cli({"ctl", "--node", endpoint, "stop", "worker"}).code == 0);
    auto childless =
        run_cli({"ctl", "--node", endpoint, "signal", "TERM", "worker"});
    CHECK(childless.code == 1);
    CHECK(childless.output.find("worker: has no child to signal") !=
          std::string::npos);
    // --no-wait: back once the node applied it, in the local ctl's words.
    auto quick =
        run_cli({"ctl", "--node", endpoint, "restart", "worker", "--no-wait"});
    CHECK(quick.code == 0);
    CHECK(quick.output.find("worker: sent; ") != std::string::npos);
    // Effects not seen within --timeout: exit 5. (A restart of `worker`
    // with 1 ms was seen done in 1 of 10 runs: a waiter woken late finds
    // the effect there, and says so.)
    auto hurried = run_cli(
        {"ctl", "--node", endpoint, "start", "slow", "--timeout", "0.001"});
    CHECK(hurried.code == 5);
    CHECK(hurried.output.find("(not confirmed)") != std::string::npos);

    // A NAME given twice counts once, as in the local commands (a stranger
    // saw two restarts); the local checks of NAMEs apply (exit 2).
    auto twice = run_cli({"ctl", "--node", endpoint, "restart", "web", "web"});
    CHECK(twice.code == 0);
    CHECK(vitrine::test::count_of(twice.output, "web: ") == 1);
    auto rows = run_cli({"status", "--node", endpoint, "web", "web"});
    CHECK(rows.code == 0);
    CHECK(vitrine::test::count_of(rows.output, "web ") == 1);
    auto long_name =
        run_cli({"status", "--node", endpoint, std::string(256, 'x')});
    CHECK(long_name.code == 2);
    CHECK(long_name.output.find("a name must have 1 to 255 bytes") !=
          std::string::npos);

    ::kill(node.pid(), SIGTERM);
    CHECK(node.wait(30s) == 0);
  }
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}

TEST_CASE(
    "vitrine node supervises like run: signals, subreaper, state directory",
    "[cli][remote]") {
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  const auto log = dir.file("node.out");
  const auto state = dir.file("state");
  // `stubborn` ignores SIGTERM (only the second stop signal's SIGKILL ends
  // it before its 60 s stop timeout); `parent` leaves an orphan behind.
  const auto config = dir.write(
      "node.toml",
      "[[program]]\nname = \"stubborn\"\ncommand = [\"sh\", \"-c\", "
      "\"trap '' TERM; sleep 1000." +
          token +
          " & wait; wait\"]\nstartsecs_ms = 0\nstop_timeout_ms = 60000\n"
          "[[program]]\nname = \"parent\"\ncommand = [\"sh\", \"-c\", "
          "\"(sleep 1001." +
          token + " &); exec sleep 1002." + token + "\"]\nstartsecs_ms = 0\n");
  vitrine::test::cli_process node{
      {"node", config, "--listen", "127.0.0.1:0", "--state-dir", state}, log};
  const std::string endpoint = "127.0.0.1:" + served_port(log, node.pid());

  // The orphan `sleep 1001` is re-parented to the node (a subreaper), not
  // to init: three sleeps below it.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (vitrine::test::descendants_named(node.pid(), "sleep").size() < 3 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(vitrine::test::descendants_named(node.pid(), "sleep").size() == 3);

  // The local clients find it through its state directory.
  auto local = run_cli({"status", "--state-dir", state});
  CHECK(local.code == 0);
  CHECK(vitrine::test::count_of(local.output, " running ") == 2);

  // SIGHUP reloads (it does not end the node); USR1 is ignored.
  ::kill(node.pid(), SIGHUP);
  CHECK(vitrine::test::wait_for_text(log, "reload: unchanged 2", 20s,
                                     node.pid()));
  ::kill(node.pid(), SIGUSR1);
  CHECK(vitrine::test::wait_for_text(log, "received SIGUSR1: ignored", 20s,
                                     node.pid()));
  CHECK(run_cli({"status", "--node", endpoint}).code == 0);

  // The first SIGTERM stops gracefully (stubborn waits out its timeout),
  // the second kills: the node ends long before the 60 s.
  ::kill(node.pid(), SIGTERM);
  CHECK(vitrine::test::wait_for_text(log, "stopping every program", 20s,
                                     node.pid()));
  CHECK_FALSE(node.wait(1s).has_value());  // still waiting for stubborn
  ::kill(node.pid(), SIGTERM);
  CHECK(node.wait(30s) == 0);
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}

// Found by a stranger: a node lost while ctl --node waited for an effect
// left a line that read as done ("api: unknown pid=N", exit 1, nothing on
// stderr).
TEST_CASE("vitrine status --node fails within the timeout when unreachable",
          "[cli][remote]") {
  // Port 1 on loopback: nothing listens there (connection refused).
  const auto start = std::chrono::steady_clock::now();
  auto r = run_cli({"status", "--node", "127.0.0.1:1", "--timeout-ms", "500"});
  CHECK(r.code == 1);
  CHECK(r.output.find("unreachable") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < 20s);
  // A refusal is an answer: said at once, with its reason, not after the
  // whole timeout.
  const auto refused_at = std::chrono::steady_clock::now();
  auto refused =
      run_cli({"status", "--node", "127.0.0.1:1", "--timeout-ms", "60000"});
  CHECK(refused.code == 1);
  CHECK(refused.output.find("cannot connect") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - refused_at < 30s);
}

TEST_CASE("a malformed HOST:PORT is a usage error (exit 2) naming it",
          "[cli][remote]") {
  for (const char* bad : {"", ":", "127.0.0.1:99999", "[::1]:x", "[::1",
                          " 127.0.0.1:4100", "127.0.0.1:+4100"}) {
    INFO("endpoint '" << bad << "'");
    auto status = run_cli({"status", "--node", bad});
    CHECK(status.code == 2);
    CHECK(status.output.find("not HOST:PORT") != std::string::npos);
    CHECK(run_cli({"ctl", "--node", bad, "stop", "web"}).code == 2);
  }
  for (const char* verb : {"status", "ctl"}) {
    auto flag_first = run_cli({verb, "--node", "--help"});
    CHECK(flag_first.code == 2);
    CHECK(
        flag_first.output.find("needs a HOST:PORT before the flag '--help'") !=
        std::string::npos);
  }
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  CHECK(
      run_cli({"node", node_config(dir, token), "--listen", "127.0.0.1:99999"})
          .code == 2);
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}

TEST_CASE("a word for a number of milliseconds is named as not a number",
          "[cli][remote]") {
  // Before: "Value abc not in range 10 to 600000" (an outside tester).
  for (const auto& [args, range] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"status", "--node", "127.0.0.1:1", "--timeout-ms", "abc"},
            "10 to 600000"},
           {{"status", "--node", "127.0.0.1:1", "--heartbeat-ms", "1.5"},
            "10 to 600000"},
           {{"status", "--node", "127.0.0.1:1", "--timeout-ms", "5"},
            "10 to 600000"},
           {{"watch", "--node", "127.0.0.1:1", "--interval", "x"},
            "1 to 3600000"},
           {{"watch", "--node", "127.0.0.1:1", "--count", "-1"},
            "1 to 1000000000"}}) {
    const auto r = run_cli(args);
    INFO(r.output);
    CHECK(r.code == 2);
    CHECK(r.output.find("'" + args.back() + "' is not a whole number from " +
                        range) != std::string::npos);
  }
}

TEST_CASE("ctl --node refuses a --timeout local ctl refuses (exit 2)",
          "[cli][remote]") {
  for (const std::string bad : {"0", "-1", "3601"}) {
    INFO("--timeout " << bad);
    // Refused before any connection: nothing listens on port 1.
    auto ctl = run_cli(
        {"ctl", "--node", "127.0.0.1:1", "--timeout=" + bad, "restart", "web"});
    CHECK(ctl.code == 2);
    CHECK(ctl.output.find("--timeout: '" + bad +
                          "' is not a number of seconds from 0.001 to "
                          "3600") != std::string::npos);
  }
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

TEST_CASE("vitrine node, status and ctl --node over TLS with certificates",
          "[cli][remote][tls]") {
  vitrine::test::temp_dir dir;
  const vitrine::test::test_pki pki{dir};
  const auto node_tls = tls_flags(pki.node_cert, pki.node_key, pki.ca);
  const auto controller_tls =
      tls_flags(pki.controller_cert, pki.controller_key, pki.ca);
  const auto token = vitrine::test::unique_token();
  const auto log = dir.file("node.out");
  {
    // Every local address (not loopback only): accepted with TLS, without
    // --insecure. The controllers reach it through loopback.
    vitrine::test::cli_process node{
        std::vector<std::string>{"node", node_config(dir, token), "--listen",
                                 "0.0.0.0:0"} +
            node_tls,
        log};
    const std::string endpoint =
        "127.0.0.1:" + served_port(log, node.pid(), "0.0.0.0");

    auto status =
        run_cli(std::vector<std::string>{"status", "--node", endpoint} +
                controller_tls);
    CHECK(status.code == 0);
    CHECK(vitrine::test::count_of(status.output, " running ") == 2);

    auto restart = run_cli(
        std::vector<std::string>{"ctl", "--node", endpoint, "restart", "web"} +
        controller_tls);
    CHECK(restart.code == 0);
    CHECK(restart.output.find("web: running pid=") != std::string::npos);

    // No certificate, or one from another CA: never let in.
    auto plain =
        run_cli({"status", "--node", endpoint, "--timeout-ms", "1000"});
    CHECK(plain.code == 1);
    CHECK(plain.output.find("unreachable") != std::string::npos);
    auto stranger =
        run_cli(std::vector<std::string>{"status", "--node", endpoint,
                                         "--timeout-ms", "1000"} +
                tls_flags(pki.stranger_cert, pki.stranger_key, pki.ca));
    CHECK(stranger.code == 1);
    CHECK(stranger.output.find("unreachable") != std::string::npos);

    auto after =
        run_cli(std::vector<std::string>{"status", "--node", endpoint} +
                controller_tls);
    CHECK(after.code == 0);
    CHECK(after.output.find("web     running") != std::string::npos);

    // watch takes the same flags: one JSON refresh, the node connected.
    auto watch = run_cli(std::vector<std::string>{"watch", "--node", endpoint,
                                                  "--count", "1", "--json"} +
                         controller_tls);
    CHECK(watch.code == 0);
    CHECK(watch.output.find("\"state\":\"connected\"") != std::string::npos);
    CHECK(vitrine::test::count_of(watch.output, "\"status\":\"running\"") == 2);

    ::kill(node.pid(), SIGTERM);
    CHECK(node.wait(30s) == 0);
  }
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}

TEST_CASE(
    "status and ctl --node cost a TLS node one handshake each: a node "
    "allowing one a second from this address answers them",
    "[cli][remote][tls]") {
  // Before, each also made a plain TCP connection beside its attempt (to
  // say why a silent node was silent), which the node's guard counted as
  // a handshake: with one a second allowed, every command was refused.
  vitrine::test::temp_dir dir;
  const vitrine::test::test_pki pki{dir};
  const auto controller_tls =
      tls_flags(pki.controller_cert, pki.controller_key, pki.ca);
  vitrine::runtime_options options;
  options.remoting.enabled = true;
  options.remoting.tls =
      vitrine::tls_options{pki.node_cert, pki.node_key, pki.ca, {}};
  vitrine::runtime node{options};
  vitrine::process_spec web;
  web.name = "web";
  web.launch.argv = {"sleep", "1000"};
  web.startsecs = 0ms;
  node.supervise(web);
  vitrine::serve_options serve;
  serve.tls_handshakes_per_second = 1;
  const std::string endpoint = "127.0.0.1:" + std::to_string(node.serve(serve));
  auto status = run_cli(std::vector<std::string>{"status", "--node", endpoint} +
                        controller_tls);
  INFO(status.output);
  CHECK(status.code == 0);
  std::this_thread::sleep_for(1100ms);  // this address's next handshake
  auto restart = run_cli(
      std::vector<std::string>{"ctl", "--node", endpoint, "restart", "web"} +
      controller_tls);
  INFO(restart.output);
  CHECK(restart.code == 0);
}

TEST_CASE("TLS flags: partial sets, --insecure with them, bad files",
          "[cli][remote][tls]") {
  vitrine::test::temp_dir dir;
  const vitrine::test::test_pki pki{dir};
  const auto token = vitrine::test::unique_token();
  const auto config = node_config(dir, token);

  auto partial =
      run_cli({"node", config, "--listen", "127.0.0.1:0", "--tls-cert",
               pki.node_cert, "--tls-key", pki.node_key});
  CHECK(partial.code == 2);
  CHECK(partial.output.find("--tls-cert requires --tls-ca") !=
        std::string::npos);
  auto partial_status =
      run_cli({"status", "--node", "127.0.0.1:1", "--tls-ca", pki.ca});
  CHECK(partial_status.code == 2);
  CHECK(partial_status.output.find("--tls-ca requires") != std::string::npos);

  // An empty path (an unset variable) in any of the three: before, an
  // empty certificate served (or connected) without TLS, exit 0.
  for (int empty = 0; empty < 3; ++empty) {
    auto flags = tls_flags(pki.node_cert, pki.node_key, pki.ca);
    flags[2 * empty + 1].clear();
    INFO("empty " << flags[2 * empty]);
    auto node = run_cli(
        std::vector<std::string>{"node", config, "--listen", "127.0.0.1:0"} +
        flags);
    CHECK(node.code == 2);
    CHECK(node.output.find("the path must not be empty") != std::string::npos);
    auto watch = run_cli(std::vector<std::string>{
                             "watch", "--node", "127.0.0.1:1", "--count", "1"} +
                         flags);
    CHECK(watch.code == 2);
  }

  // A timeout no longer than the heartbeat drops an idle peer over and
  // over: said, not refused (the peer's heartbeat may be shorter).
  auto hasty = run_cli({"watch", "--node", "127.0.0.1:1", "--count", "1",
                        "--timeout-ms", "100", "--interval", "10"});
  CHECK(hasty.output.find("vitrine: warning: --timeout-ms 100 is not above "
                          "--heartbeat-ms 500") != std::string::npos);
  auto paced =
      run_cli({"watch", "--node", "127.0.0.1:1", "--count", "1", "--timeout-ms",
               "100", "--heartbeat-ms", "20", "--interval", "10"});
  CHECK(paced.output.find("warning") == std::string::npos);

  auto both = run_cli(std::vector<std::string>{"node", config, "--listen",
                                               "0.0.0.0:0", "--insecure"} +
                      tls_flags(pki.node_cert, pki.node_key, pki.ca));
  CHECK(both.code == 2);
  CHECK(both.output.find("--tls-cert cannot be given with --insecure") !=
        std::string::npos);

  const auto missing = dir.file("missing.pem");
  auto bad_node = run_cli(
      std::vector<std::string>{"node", config, "--listen", "127.0.0.1:0"} +
      tls_flags(pki.node_cert, missing, pki.ca));
  CHECK(bad_node.code == 1);
  CHECK(bad_node.output.find("TLS key '" + missing + "'") != std::string::npos);
  auto bad_status = run_cli(
      std::vector<std::string>{"ctl", "--node", "127.0.0.1:1", "stop", "web"} +
      tls_flags(missing, pki.controller_key, pki.ca));
  CHECK(bad_status.code == 1);
  CHECK(bad_status.output.find("TLS certificate '" + missing + "'") !=
        std::string::npos);
  // Nothing was started.
  CHECK(vitrine::test::time_until_none(token, 20s).count() >= 0);
}
