// An idle `vitrine run` sleeps: once its programs run and nothing is
// published, the main thread waits for the runtime's next publication or a
// signal, not on the 100 ms tick (docs/cli.md, "Display").
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include "cli_driver.hpp"
#include "live_run.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

/// How many times the main thread of `pid` was switched out (it slept, or
/// was preempted) so far.
std::uint64_t main_thread_switches(pid_t pid) {
  const std::string id = std::to_string(pid);
  std::ifstream in("/proc/" + id + "/task/" + id + "/status");
  std::uint64_t total = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find("ctxt_switches:") != std::string::npos)
      total += std::stoull(line.substr(line.find(':') + 1));
  return total;
}

}  // namespace

TEST_CASE("an idle vitrine run's main thread sleeps until a change",
          "[cli][run][idle]") {
  // Programs that start: their rows change. Before, without a
  // --json-status file, a changed row left a status file write pending
  // for ever, and the loop woke every 100 ms (an outside tester).
  live_run run{sleep_programs(20, "startsecs_ms = 0\n")};
  run.wait_status("p19", "running");
  std::this_thread::sleep_for(1s);  // the last lines printed
  const pid_t pid = run.process().pid();
  const std::uint64_t before = main_thread_switches(pid);
  std::this_thread::sleep_for(3s);
  const std::uint64_t woke = main_thread_switches(pid) - before;
  INFO("the main thread was switched out " << woke << " times in 3 s");
  // The 100 ms tick is about 30 in 3 s; idle, the status table's heartbeat
  // (every 5 s) is all that may come.
  CHECK(woke <= 5);
}

TEST_CASE("an idle run prints a vitrine reload's summary when it ends",
          "[cli][run][idle][reload]") {
  // The reload runs on the control socket's thread; the loop, asleep until
  // a change, printed its summary only at the next change (an outside
  // tester, after the loop learned to sleep).
  live_run run{sleep_programs(3, "startsecs_ms = 0\n")};
  run.wait_status("p2", "running");
  std::this_thread::sleep_for(500ms);  // asleep
  const auto r = run.cli({"reload"});
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(wait_for_text(run.log(), "reload: unchanged 3", 5s));
}
