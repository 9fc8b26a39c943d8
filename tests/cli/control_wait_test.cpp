// What `vitrine ctl` waits for when a command meets another one under way:
// a start sent while a stop is still waiting out its stop_timeout is a
// start once the child is reaped (its own `stopped` is not the answer); a
// program a reload removes meanwhile ends the wait at once; a command
// another client's overtakes ends it once that one settled the program; a
// wait that times out leaves the command applied.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "cli_driver.hpp"
#include "commands.hpp"
#include "live_run.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

// Programs that ignore SIGTERM run once their trap is set (readiness on
// fd 3): a stop that came before it killed the shell at once (under load,
// 11 ms after the start), and a wait for `stopping` then never matched.
const std::string stubborn_config = R"([supervisor]
name = "waits"
[[program]]
name = "stubborn"
command = "trap '' TERM; echo ready >&3; while :; do sleep 1; done"
notify_fd = 3
stop_timeout_ms = 1500
startsecs_ms = 10000
)";

}  // namespace

TEST_CASE("ctl start during a stop succeeds once the new child runs",
          "[cli][ctl]") {
  live_run run{stubborn_config};
  const auto before = run.wait_status("stubborn", "running");
  const auto stop = run.cli({"ctl", "stop", "stubborn", "--no-wait"});
  REQUIRE(stop.code == 0);
  run.wait_status("stubborn", "stopping");
  const auto start = run.cli({"ctl", "start", "stubborn"});
  INFO(start.output);
  CHECK(start.code == 0);
  CHECK(contains(start.output, "stubborn: running pid="));
  CHECK_FALSE(contains(start.output, "pid=" + std::to_string(before.pid)));
  const auto after = run.wait_status("stubborn", "running");
  CHECK(after.pid != before.pid);
}

TEST_CASE("ctl restart of a program a reload removes ends when it is gone",
          "[cli][ctl][reload]") {
  live_run run{stubborn_config +
               "[[program]]\nname = \"other\"\ncommand = [\"sleep\", "
               "\"1000\"]\nstartsecs_ms = 0\n"};
  run.wait_status("stubborn", "running");
  run.wait_status("other", "running");
  // The file without `stubborn`: the reload stops it (1.5 s: it ignores
  // SIGTERM) and removes it.
  run.dir().write("run.toml",
                  "[supervisor]\nname = \"waits\"\n[[program]]\nname = "
                  "\"other\"\ncommand = [\"sleep\", \"1000\"]\n"
                  "startsecs_ms = 0\n");
  REQUIRE(::kill(run.process().pid(), SIGHUP) == 0);
  run.wait_status("stubborn", "stopping");
  const auto begin = std::chrono::steady_clock::now();
  const auto restart =
      run.cli({"ctl", "restart", "stubborn", "--timeout", "20"});
  const auto took = std::chrono::steady_clock::now() - begin;
  INFO(restart.output);
  CHECK(restart.code == 1);
  CHECK(contains(restart.output, "was removed from the run"));
  CHECK(took < 10s);
}

TEST_CASE(
    "ctl restart overtaken by another client's stop (of the program, or of "
    "its supervisor) fails once the program is stopped, and says why",
    "[cli][ctl]") {
  // The stop of its supervisor (here the top, `waits`) used to leave the
  // restart waiting out its deadline too.
  const std::string stopped = GENERATE("stubborn", "waits");
  live_run run{stubborn_config};
  run.wait_status("stubborn", "running");
  // The restart waits for a new child; the stop (1.5 s: it ignores
  // SIGTERM) calls that start off. Before, the restart waited out its 20 s
  // and reported a timeout.
  auto restart = std::async(std::launch::async, [&run] {
    return run.cli({"ctl", "restart", "stubborn", "--timeout", "20"});
  });
  run.wait_status("stubborn", "stopping");
  const auto begin = std::chrono::steady_clock::now();
  const auto stop = run.cli({"ctl", "stop", stopped});
  INFO(stop.output);
  CHECK(stop.code == 0);
  const auto restarted = restart.get();
  const auto took = std::chrono::steady_clock::now() - begin;
  INFO(restarted.output);
  CHECK(restarted.code == 1);
  CHECK(contains(restarted.output, "stubborn: FAILED: is stopped"));
  CHECK(contains(restarted.output,
                 "; another command to it was applied meanwhile"));
  CHECK(took < 10s);
}

TEST_CASE(
    "a ctl wait that times out says the command stays applied, and it "
    "does take effect; a group's restart whose stop is late sends no start",
    "[cli][ctl]") {
  live_run run{stubborn_config};
  const auto before = run.wait_status("stubborn", "running");
  REQUIRE(run.cli({"ctl", "stop", "stubborn", "--no-wait"}).code == 0);
  run.wait_status("stubborn", "stopping");
  // The start waits for the reap (1.5 s: it ignores SIGTERM): the client
  // gives up first, the start comes all the same.
  const auto start = run.cli({"ctl", "start", "stubborn", "--timeout", "0.3"});
  INFO(start.output);
  CHECK(start.code == vitrine::cli::exit_ctl_timeout);
  CHECK(contains(start.output,
                 "stubborn: FAILED: timed out after 300 ms (status: "
                 "stopping); the command was applied and may still take "
                 "effect"));
  const auto after = run.wait_status("stubborn", "running");
  CHECK(after.pid != before.pid);

  // A supervisor's restart is a stop, then a start sent by the client's
  // request: past the deadline, the start is not sent.
  const auto restart = run.cli({"ctl", "restart", "waits", "--timeout", "0.3"});
  INFO(restart.output);
  CHECK(restart.code == vitrine::cli::exit_ctl_timeout);
  CHECK(contains(restart.output,
                 "waits: FAILED: timed out after 300 ms (status: "
                 "shutting_down); the stop was applied, the start not sent"));
  run.wait_status("stubborn", "stopped");
  CHECK(run.cli({"status", "waits"}).output.find("supervisor waits: stopped") !=
        std::string::npos);
}

TEST_CASE(
    "a client whose run is SIGKILLed while it waits says the run ended "
    "(exit 4), not that it is stopping",
    "[cli][ctl]") {
  live_run run{stubborn_config};
  run.wait_status("stubborn", "running");
  // The stop waits out stubborn's stop_timeout (1.5 s: it ignores SIGTERM).
  auto stop = std::async(std::launch::async, [&] {
    return run.cli({"ctl", "stop", "stubborn", "--timeout", "20"});
  });
  run.wait_status("stubborn", "stopping");
  REQUIRE(::kill(run.process().pid(), SIGKILL) == 0);
  REQUIRE(run.process().wait(10s) == -SIGKILL);
  const auto result = stop.get();
  INFO(result.output);
  CHECK(result.code == vitrine::cli::exit_not_running);
  CHECK(contains(result.output, "ended before it replied (was it killed?)"));
  CHECK_FALSE(contains(result.output, "is it stopping"));
}

TEST_CASE(
    "ctl restart of a group a reload replaces meanwhile ends when it is "
    "gone, and says so",
    "[cli][ctl][reload]") {
  const auto group = [](const std::string& a_seconds) {
    return "[supervisor]\nname = \"waits\"\n[[group]]\nname = \"g\"\n"
           "[[group.program]]\nname = \"a\"\ncommand = [\"sleep\", \"" +
           a_seconds +
           "\"]\nstartsecs_ms = 0\n[[group.program]]\nname = \"stub\"\n"
           "command = \"trap '' TERM; echo ready >&3; while :; do sleep 1; "
           "done\"\nnotify_fd = 3\nstop_timeout_ms = 1500\n"
           "startsecs_ms = 10000\n";
  };
  live_run run{group("1000")};
  run.wait_status("a", "running");
  run.wait_status("stub", "running");
  // The restart's stop waits out stub's stop_timeout (1.5 s: it ignores
  // SIGTERM); meanwhile a reload changes a, which replaces g as a whole.
  auto restart = std::async(std::launch::async, [&] {
    return run.cli({"ctl", "restart", "g", "--timeout", "20"});
  });
  run.wait_status("stub", "stopping");
  run.dir().write("run.toml", group("1001"));
  REQUIRE(::kill(run.process().pid(), SIGHUP) == 0);
  const auto result = restart.get();
  INFO(result.output);
  INFO(read_file(run.log()));
  CHECK(result.code == 1);
  CHECK(contains(result.output,
                 "g: FAILED: was removed from the run (by a reload) before "
                 "the effect was seen"));
}

TEST_CASE(
    "a reload while the top supervisor is stopped by ctl succeeds; what it "
    "added or changed starts with the tree",
    "[cli][ctl][reload]") {
  // An outside tester: `ctl stop TOP`, then a reload (even of an unchanged
  // file) said `reload failed: the tree stopped while reloading`, exit 1,
  // yet applied it. Another: a program the reload changed stayed stopped
  // after `ctl start TOP`.
  live_run run{demo_config};
  const pid_t api_before = run.wait_status("api", "running").pid;
  auto r = run.cli({"ctl", "stop", "demo"});
  INFO(r.output);
  REQUIRE(r.code == 0);
  std::string changed = demo_config;
  const std::string api_command =
      "name = \"api\"\ncommand = [\"sleep\", \"1000\"]";
  REQUIRE(changed.find(api_command) != std::string::npos);
  changed.replace(changed.find(api_command), api_command.size(),
                  "name = \"api\"\ncommand = [\"sleep\", \"1001\"]");
  run.rewrite(changed);
  run.append_program("added");
  r = run.cli({"reload"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(contains(r.output, "reloaded"));
  CHECK_FALSE(contains(r.output, "failed"));
  // Told to the operator too, not only in the run's output (an outside
  // tester saw only the added/changed lines and `reloaded`).
  CHECK(contains(r.output,
                 "reload: supervisor 'demo' is stopped (ctl stop): "
                 "what the reload applied starts when it is "
                 "started"));
  CHECK(wait_for_text(run.log(),
                      "is stopped (ctl stop): what the reload "
                      "applied starts when it is started",
                      20s));
  CHECK(wait_for_text(run.log(), "changed 1 (api)", 20s));
  run.wait_status("added", "stopped");
  run.wait_status("api", "stopped");
  r = run.cli({"ctl", "start", "demo"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(run.wait_status("added", "running").pid > 0);
  const pid_t api_after = run.wait_status("api", "running").pid;
  CHECK(api_after > 0);
  CHECK(api_after != api_before);
}

TEST_CASE(
    "vitrine reload waiting for the programs to be added gives up when the "
    "run is stopped meanwhile",
    "[cli][ctl][reload]") {
  const auto adding = run_still_adding(3000);
  auto& run = *adding;
  auto reload =
      std::async(std::launch::async, [&run] { return run.cli({"reload"}); });
  std::this_thread::sleep_for(300ms);  // the reload waits for the adding
  REQUIRE(::kill(run.process().pid(), SIGTERM) == 0);
  const auto reloaded = reload.get();
  INFO(reloaded.output);
  // Before, the stop ended the adding, and the reload then ran against
  // the stopping tree: "the tree stopped while reloading".
  CHECK(reloaded.code == 1);
  CHECK(contains(reloaded.output, "the run is stopping: nothing was reloaded"));
  CHECK(run.process().wait(20s) == std::optional<int>{0});
}

TEST_CASE(
    "ctl restart of a one_for_all group whose child crashes at once sees it "
    "run",
    "[cli][ctl]") {
  // The group runs for an instant each time: its crasher exits while
  // `slow` is still starting (its readiness comes after 200 ms), and the
  // group restarts both the moment it has published `running`. A wait
  // that read only the state it woke up to found `restarting` and timed
  // out (an outside tester, exit 5); the group's history keeps the
  // `running` in between.
  live_run run{R"([supervisor]
name = "waits"
[[group]]
name = "loop"
strategy = "one_for_all"
intensity = 1000000
period_ms = 1000
[[group.program]]
name = "crasher"
command = "sleep 0.05; exit 1"
startsecs_ms = 0
restart_limit = { burst = 1, interval_ms = 0 }
backoff = { min_ms = 0, max_ms = 0, jitter = 0 }
[[group.program]]
name = "slow"
command = "sleep 0.2; echo ready >&3; exec sleep 1000"
notify_fd = 3
startsecs_ms = 10000
)"};
  run.wait_status("loop", "restarting");
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto restart = run.cli({"ctl", "restart", "loop", "--timeout", "10"});
    INFO(restart.output);
    CHECK(restart.code == 0);
    CHECK(contains(restart.output, "loop: "));
    CHECK_FALSE(contains(restart.output, "FAILED"));
  }
}

TEST_CASE("ctl start of a program the first start has not reached waits for it",
          "[cli][ctl]") {
  // The run starts its programs in order, each once the one before runs:
  // `after` and the group `g` wait for `first` (startsecs 3 s). A start
  // sent meanwhile is carried out in its turn; `ctl start` said "after:
  // FAILED: is stopped" at once (the command counted as applied while
  // held), exit 1.
  live_run run{
      "[[program]]\nname = \"first\"\ncommand = [\"sleep\", \"1000\"]\n"
      "startsecs_ms = 3000\n"
      "[[program]]\nname = \"after\"\ncommand = [\"sleep\", \"1000\"]\n"
      "startsecs_ms = 100\n"
      "[[group]]\nname = \"g\"\n"
      "[[group.program]]\nname = \"x\"\ncommand = [\"sleep\", \"1000\"]\n"
      "startsecs_ms = 100\n"};
  run.wait_status("first", "starting");
  const auto asked = std::chrono::steady_clock::now();
  const auto result =
      run.cli({"ctl", "start", "after", "g", "--timeout", "20"});
  INFO(result.output);
  CHECK(result.code == 0);
  CHECK(contains(result.output, "after: running pid="));
  CHECK(contains(result.output, "g: running"));
  CHECK(std::chrono::steady_clock::now() - asked >= 1s);
  CHECK(run.wait_status("first", "running").pid > 0);
}
