// A reload and `autostart = false` (docs/cli.md, "Reloading"): a changed
// program is stopped, then started with its new settings. `autostart =
// false` only keeps a program out of the tree's start, so one that an
// operator started (`ctl start`) and that runs when the reload comes is
// started again too; one that never ran stays stopped. The file keeps
// saying `autostart = false`: the next reload of it changes nothing. A
// top-level program that `ctl stop` stopped stays stopped, whatever its
// autostart.
#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <string>
#include <thread>

#include "cli_driver.hpp"
#include "live_run.hpp"
#include "support/files.hpp"

using namespace vitrine::test;
using vitrine::status_name;
using vitrine::status_slot;

namespace {

std::string lazy_programs(const std::string& seconds) {
  std::string text = "[supervisor]\nname = \"lazy\"\n";
  for (const char* name : {"started", "idle"})
    text += std::string{"[[program]]\nname = \""} + name +
            "\"\ncommand = [\"sleep\", \"" + seconds +
            "\"]\nautostart = false\nstartsecs_ms = 0\n";
  return text;
}

}  // namespace

TEST_CASE(
    "a reload starts a changed autostart = false program again if it ran, "
    "and leaves one that never ran stopped",
    "[cli][reload]") {
  live_run run{lazy_programs("1000")};
  run.wait_status("idle", "stopped");
  const auto started = run.cli({"ctl", "start", "started"});
  INFO(started.output);
  REQUIRE(started.code == 0);
  const auto before = run.wait_status("started", "running");

  run.dir().write("run.toml", lazy_programs("999"));
  const auto reloaded = run.cli({"reload"});
  INFO(reloaded.output);
  REQUIRE(reloaded.code == 0);
  const auto after = run.wait_slot("started", [&](const status_slot& s) {
    return status_name(s) == "running" && s.pid != before.pid;
  });
  CHECK(after.pid > 0);
  CHECK(status_name(run.wait_status("idle", "stopped")) == "stopped");

  // The same file again: nothing differs (the run still records
  // `autostart = false`, as written).
  const auto again = run.cli({"reload"});
  INFO(again.output);
  CHECK(again.code == 0);
  CHECK(wait_for_text(run.log(), "reload: unchanged 2",
                      std::chrono::seconds{20}, run.process().pid()));
  CHECK(run.wait_status("started", "running").pid == after.pid);
}

TEST_CASE(
    "a reload leaves a changed program stopped if `ctl stop` stopped it, "
    "and starts a changed one that exited",
    "[cli][reload]") {
  // An operator stops a program, edits its settings, reloads: it stayed
  // stopped only with autostart = false before (an outside tester).
  temp_dir marks;
  const auto runs_file = marks.file("done.runs");
  const auto file = [&](const std::string& seconds) {
    return "[supervisor]\nname = \"ops\"\n"
           "[[program]]\nname = \"held\"\ncommand = [\"sleep\", \"" +
           seconds +
           "\"]\nstartsecs_ms = 0\n"
           "[[program]]\nname = \"done\"\ncommand = [\"sh\", \"-c\", "
           "\"echo " +
           seconds + " >> '" + runs_file +
           "'\"]\nrestart = \"temporary\"\nstartsecs_ms = 0\n";
  };
  const auto runs = [&] {
    const auto text = read_file(runs_file);
    return std::count(text.begin(), text.end(), '\n');
  };
  live_run run{file("1000")};
  run.wait_status("held", "running");
  run.wait_status("done", "exited");
  REQUIRE(runs() == 1);
  const auto stopped = run.cli({"ctl", "stop", "held"});
  INFO(stopped.output);
  REQUIRE(stopped.code == 0);

  run.dir().write("run.toml", file("999"));
  const auto reloaded = run.cli({"reload"});
  INFO(reloaded.output);
  REQUIRE(reloaded.code == 0);
  CHECK(wait_for_text(run.log(), "reload: changed 2", std::chrono::seconds{20},
                      run.process().pid()));
  // The exited one ran again with its new settings.
  for (int i = 0; i < 200 && runs() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  CHECK(read_file(runs_file) == "1000\n999\n");
  INFO(run.cli({"status"}).output);  // what the table says, should it fail
  CHECK(status_name(run.wait_status("held", "stopped")) == "stopped");
  // It starts when asked, with the new settings.
  const auto started = run.cli({"ctl", "start", "held"});
  INFO(started.output);
  CHECK(started.code == 0);
  CHECK(run.wait_status("held", "running").pid > 0);
}

TEST_CASE(
    "`ctl stop TOP` during a reload: the reload took (exit 0), and the run "
    "says the tree was stopped by the command",
    "[cli][reload]") {
  // Before, `vitrine reload` exited 1 with "the tree stopped while
  // reloading", the line of a stopping run, though the file was applied
  // (an outside tester).
  const std::string one =
      "[supervisor]\nname = \"top\"\n[[program]]\nname = \"a\"\n"
      "command = [\"sleep\", \"1300\"]\nstartsecs_ms = 0\n";
  live_run run{one};
  run.wait_status("a", "running");
  // slow stays `starting` for 30 s: the reload waits on it.
  run.dir().write("run.toml", one +
                                  "[[program]]\nname = \"slow\"\ncommand = "
                                  "[\"sleep\", \"1301\"]\nstartsecs_ms = "
                                  "30000\n");
  auto reloaded =
      std::async(std::launch::async, [&] { return run.cli({"reload"}); });
  run.wait_status("slow", "starting");
  const auto stopped = run.cli({"ctl", "stop", "top"});
  INFO(stopped.output);
  CHECK(stopped.code == 0);
  const auto answer = reloaded.get();
  INFO(answer.output);
  CHECK(answer.code == 0);
  CHECK(wait_for_text(run.log(),
                      "reload: supervisor 'top' was stopped during the "
                      "reload (ctl stop): what the reload applied starts "
                      "when it is started",
                      std::chrono::seconds{20}, run.process().pid()));
  CHECK(status_name(run.wait_status("slow", "stopped")) == "stopped");
}
