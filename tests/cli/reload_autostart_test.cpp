// A reload and `autostart = false` (docs/cli.md, "Reloading"): a changed
// program is stopped, then started with its new settings. `autostart =
// false` only keeps a program out of the tree's start, so one that an
// operator started (`ctl start`) and that runs when the reload comes is
// started again too; one that never ran stays stopped. The file keeps
// saying `autostart = false`: the next reload of it changes nothing.
#include <catch2/catch.hpp>

#include <string>

#include "cli_driver.hpp"
#include "live_run.hpp"

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
