// What `vitrine ctl` waits for when a command meets another one under way:
// a start sent while a stop is still waiting out its stop_timeout is a
// start once the child is reaped (its own `stopped` is not the answer); a
// program a reload removes meanwhile ends the wait at once; a command
// another client's overtakes ends it once that one settled the program.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>

#include "cli_driver.hpp"
#include "live_run.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

const std::string stubborn_config = R"([supervisor]
name = "waits"
[[program]]
name = "stubborn"
command = "trap '' TERM; while :; do sleep 1; done"
stop_timeout_ms = 1500
startsecs_ms = 100
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
    "ctl restart overtaken by another client's stop fails once the "
    "program is stopped, and says why",
    "[cli][ctl]") {
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
  const auto stop = run.cli({"ctl", "stop", "stubborn"});
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
