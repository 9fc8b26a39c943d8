// `vitrine run` out of processes and threads (a cgroup v1 pids limit, as
// `ulimit -u` for another user): what needs a new thread is refused with a
// line saying so, and a stop signal still stops every program (an outside
// tester found the run aborting at SIGTERM and SIGHUP, exit 134).
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "cli_driver.hpp"
#include "support/pids_cap.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

TEST_CASE(
    "a run that cannot start a thread says a reload and a ctl request were "
    "not done, and stops every program on SIGTERM",
    "[cli][signals]") {
  if (!pids_cap::available()) {
    WARN("skipped: no writable cgroup v1 pids hierarchy to refuse threads");
    return;
  }
  temp_dir dir;
  std::string text = "[supervisor]\nname = \"capped\"\n";
  for (int i = 0; i < 3; ++i)
    text += "[[program]]\nname = \"p" + std::to_string(i) +
            "\"\ncommand = [\"sleep\", \"1000\"]\nstartsecs_ms = 0\n";
  const auto output = dir.file("output");
  const auto state = dir.file("state");
  // LeakSanitizer (sanitizer builds) clones a task at exit, which the cap
  // refuses: off for this run only.
  cli_process run{
      {"run", dir.write("capped.toml", text), "--plain", "--state-dir", state},
      output,
      "export ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\""};
  REQUIRE(wait_for_text(output, " p2 running pid=", 30s, run.pid()));
  const auto programs = seen_now(descendants_named(run.pid(), "sleep"));
  REQUIRE(programs.size() == 3);
  pids_cap cap;
  REQUIRE(cap.made());
  REQUIRE(cap.add(run.pid()));
  REQUIRE(cap.freeze_count());
  REQUIRE(::kill(run.pid(), SIGHUP) == 0);
  CHECK(wait_for_text(output, "reload: not done: could not start a thread", 20s,
                      run.pid()));
  const auto ctl = run_cli({"ctl", "restart", "p0", "--state-dir", state});
  INFO(ctl.output);
  CHECK(ctl.code == 1);
  CHECK(ctl.output.find("could not start a thread to serve this request") !=
        std::string::npos);
  REQUIRE(::kill(run.pid(), SIGTERM) == 0);
  const auto code = run.wait(30s);
  INFO(read_file(output));
  REQUIRE(code.has_value());
  CHECK(*code == 0);  // before: 128 + SIGABRT
  CHECK(read_file(output).find("could not start a thread for the stop") !=
        std::string::npos);
  for (const auto& p : programs) CHECK(process_left(p));
}
