// `vitrine status` and `vitrine ctl` against real `vitrine run` processes:
// the shared status table, commands against every process state and a
// supervisor. The state directory's own rules: run_state_dir_test.cpp.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "cli_driver.hpp"
#include "commands.hpp"
#include "live_run.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;
using vitrine::status_slot;

namespace {
const std::string& demo = demo_config;
}  // namespace

TEST_CASE(
    "vitrine status reads processes and supervisors from the shared table; "
    "an unknown name is an error naming it",
    "[cli][status]") {
  live_run run{demo};
  const auto api = run.wait_status("api", "running");
  run.wait_status("cache", "running");

  const auto all = run.cli({"status"});
  INFO(all.output);
  CHECK(all.code == 0);
  CHECK(contains(all.output, "supervisor demo: running"));
  CHECK(contains(all.output,
                 "supervisor backend: running, restarts 0, 2 children"));
  CHECK(contains(all.output, "api    running  " + std::to_string(api.pid)));
  CHECK(contains(all.output, "lazy   stopped"));

  const auto one = run.cli({"status", "api", "--json"});
  INFO(one.output);
  CHECK(one.code == 0);
  CHECK(contains(one.output, "\"pid\": " + std::to_string(api.pid)));
  CHECK_FALSE(contains(one.output, "\"lazy\""));

  const auto unknown = run.cli({"status", "api", "nope"});
  CHECK(unknown.code == 1);
  CHECK(contains(unknown.output, "no process or supervisor named 'nope'"));
  const auto hostile = run.cli({"status", "\x1b[2Jevil"});
  CHECK(hostile.code == 1);
  CHECK(contains(hostile.output, "named '\\x1b[2Jevil'"));
  CHECK_FALSE(contains(hostile.output, "\x1b"));
}

TEST_CASE(
    "after vitrine run is SIGKILLed, status says it is gone (exit 4) and "
    "shows the last states; ctl finds no run (exit 4)",
    "[cli][status]") {
  live_run run{demo};
  run.wait_status("db", "running");
  ::kill(run.process().pid(), SIGKILL);
  REQUIRE(run.process().wait(10s) == -SIGKILL);

  const auto status = run.cli({"status"});
  INFO(status.output);
  CHECK(status.code == vitrine::cli::exit_not_running);
  CHECK(contains(status.output, "is gone"));
  CHECK(contains(status.output, "api"));
  // The programs died with the run: their uptimes stop at its last
  // heartbeat instead of growing.
  const auto uptime_of_api = [&] {
    const auto r = run.cli({"status", "api", "--json"});
    const auto at = r.output.find("\"uptime_ms\": ");
    REQUIRE(at != std::string::npos);
    return std::stol(r.output.substr(at + 13));
  };
  const auto first = uptime_of_api();
  std::this_thread::sleep_for(1200ms);
  CHECK(uptime_of_api() == first);
  // A name not in its last states: both are said, the run first (an
  // outside tester was told only that the name was unknown).
  const auto unknown = run.cli({"status", "nope"});
  INFO(unknown.output);
  CHECK(unknown.code == 1);
  const auto said_gone = unknown.output.find("is gone (killed?)");
  const auto said_unknown =
      unknown.output.find("no process or supervisor named 'nope'");
  CHECK(said_gone != std::string::npos);
  CHECK(said_unknown != std::string::npos);
  CHECK(said_gone < said_unknown);
  const auto ctl = run.cli({"ctl", "stop", "api"});
  INFO(ctl.output);
  CHECK(ctl.code == vitrine::cli::exit_not_running);
  CHECK(contains(ctl.output, "no vitrine run serves"));
}

TEST_CASE(
    "ctl start, stop and restart a running or stopped process wait for the "
    "effect",
    "[cli][ctl]") {
  live_run run{demo};
  const auto before = run.wait_status("api", "running");

  auto r = run.cli({"ctl", "restart", "api"});
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto after = run.wait_status("api", "running", 1s);
  CHECK(after.pid != before.pid);
  CHECK(contains(r.output, "api: running pid=" + std::to_string(after.pid)));

  r = run.cli({"ctl", "stop", "api"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(contains(r.output, "api: stopped"));
  CHECK(vitrine::status_name(run.wait_status("api", "stopped", 1s)) ==
        "stopped");
  CHECK(process_gone(after.pid));

  r = run.cli({"ctl", "start", "api", "lazy"});
  INFO(r.output);
  CHECK(r.code == 0);
  const auto lazy = run.wait_status("lazy", "running", 1s);
  CHECK(contains(r.output, "lazy: running pid=" + std::to_string(lazy.pid)));

  // --no-wait returns at once; the effect follows.
  r = run.cli({"ctl", "restart", "--no-wait", "lazy"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(contains(r.output, "lazy: sent;"));
  run.wait_slot("lazy", [&](const status_slot& s) {
    return vitrine::status_name(s) == "running" && s.pid != lazy.pid;
  });
}

TEST_CASE(
    "ctl against processes in backoff and failed, a stopped supervisor, a "
    "timeout, signals and unknown names",
    "[cli][ctl]") {
  temp_dir flags;
  const auto flag = flags.file("healthy");
  live_run run{demo + R"(
[[program]]
name = "crasher"
command = "exit 3"
startsecs_ms = 0
backoff = { min_ms = 60000, max_ms = 60000, jitter = 0.0 }

[[program]]
name = "doomed"
command = "test -e )" +
               flag + R"( || exit 3; exec sleep 1000"
startretries = 0
startsecs_ms = 200

[[program]]
name = "slow"
command = ["sleep", "1000"]
autostart = false
startsecs_ms = 5000
)"};
  run.wait_status("crasher", "backoff");
  run.wait_status("doomed", "failed");

  SECTION("stop a process in backoff") {
    const auto r = run.cli({"ctl", "stop", "crasher"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "crasher: stopped"));
  }
  SECTION("start a failed process: failing again, then healthy") {
    auto r = run.cli({"ctl", "start", "doomed"});
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK(contains(r.output, "doomed: FAILED: is failed"));
    flags.write("healthy", "");
    r = run.cli({"ctl", "start", "doomed"});
    INFO(r.output);
    CHECK(r.code == 0);
    const auto slot = run.wait_status("doomed", "running", 1s);
    CHECK(
        contains(r.output, "doomed: running pid=" + std::to_string(slot.pid)));
  }
  SECTION("stop and start a supervisor with its children") {
    const auto db = run.wait_status("db", "running");
    auto r = run.cli({"ctl", "stop", "backend"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "backend: stopped"));
    run.wait_status("db", "stopped", 1s);
    run.wait_status("cache", "stopped", 1s);
    r = run.cli({"ctl", "start", "backend"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "backend: running"));
    CHECK(run.wait_status("db", "running", 1s).pid != db.pid);
    run.wait_status("cache", "running", 1s);
    const auto cache = run.wait_status("cache", "running");
    r = run.cli({"ctl", "restart", "backend"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "backend: running"));
    const auto restarted = run.wait_status("cache", "running", 1s);
    CHECK(restarted.pid != cache.pid);
    // Without waiting, a supervisor's restart still stops, then starts.
    r = run.cli({"ctl", "restart", "--no-wait", "backend"});
    INFO(r.output);
    CHECK(r.code == 0);
    run.wait_slot("cache", [&](const status_slot& s) {
      return vitrine::status_name(s) == "running" && s.pid != restarted.pid;
    });
  }
  SECTION("a wait that reaches --timeout") {
    const auto r = run.cli({"ctl", "start", "--timeout", "0.3", "slow"});
    INFO(r.output);
    CHECK(r.code == vitrine::cli::exit_ctl_timeout);
    CHECK(contains(r.output,
                   "slow: FAILED: timed out after 300 ms (status: "
                   "starting); the command was applied and may still take "
                   "effect"));
  }
  SECTION("signals") {
    const auto api = run.wait_status("api", "running");
    auto r = run.cli({"ctl", "signal", "KILL", "api"});
    INFO(r.output);
    CHECK(r.code == 0);
    // The state it was sent in, not what SIGKILL made of it since.
    CHECK(contains(r.output,
                   "api: sent; running pid=" + std::to_string(api.pid) + "\n"));
    run.wait_slot("api", [&](const status_slot& s) {
      return s.restarts == 1 && s.pid != api.pid && s.pid != 0;
    });
    r = run.cli({"ctl", "signal", "TERM", "lazy"});
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK(contains(r.output,
                   "lazy: FAILED: has no child to signal (status: stopped)"));
    r = run.cli({"ctl", "signal", "TERM", "backend"});
    CHECK(r.code == 1);
    CHECK(contains(r.output, "'backend' is a supervisor"));
    r = run.cli({"ctl", "signal", "NOSUCH", "api"});
    CHECK(r.code == 2);
  }
  SECTION("an unknown name is an error naming it, and nothing is done") {
    const auto api = run.wait_status("api", "running");
    const auto r = run.cli({"ctl", "stop", "api", "ghost"});
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK(contains(r.output, "unknown name 'ghost': nothing was done"));
    CHECK(run.wait_status("api", "running").pid == api.pid);
    // A name with terminal codes is printed escaped, not obeyed.
    const auto hostile = run.cli({"ctl", "stop", "\x1b[2Jevil"});
    CHECK(hostile.code == 1);
    CHECK(contains(hostile.output, "unknown name '\\x1b[2Jevil'"));
    CHECK_FALSE(contains(hostile.output, "\x1b"));
    // One that is not UTF-8 is shown byte for byte, not as U+FFFD.
    const auto garbled = run.cli({"ctl", "stop", "caf\xc3", "api"});
    INFO(garbled.output);
    CHECK(garbled.code == 1);
    CHECK(
        contains(garbled.output, "unknown name 'caf\\xc3': nothing was done"));
    CHECK_FALSE(contains(garbled.output, "\xef\xbf\xbd"));
    CHECK(run.wait_status("api", "running").pid == api.pid);
  }
  SECTION("reload applies the rewritten file, or refuses a bad one") {
    const auto api = run.wait_status("api", "running");
    const auto config = run.dir().file("run.toml");
    run.append_program("added");
    auto r = run.cli({"reload"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "reloaded"));
    CHECK(run.wait_status("added", "running").pid > 0);
    CHECK(run.wait_status("api", "running").pid == api.pid);  // unchanged

    std::ofstream{config, std::ios::app} << "\n[[program]]\nname = 7\n";
    r = run.cli({"reload"});
    INFO(r.output);
    CHECK(r.code == 1);
    // As `vitrine check` reports a file: a line per problem, then how many.
    CHECK(r.output.starts_with(config + ":"));
    CHECK(r.output.ends_with("\n2 problems\n"));
    CHECK_FALSE(contains(r.output, "vitrine: "));
    CHECK(run.wait_status("added", "running").pid > 0);  // nothing changed
  }
  SECTION("status of a supervisor alone prints no process table") {
    const auto r = run.cli({"status", "backend"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(r.output == "supervisor backend: running, restarts 0, 2 children\n");
  }
}

TEST_CASE(
    "a failed group shows its reason in vitrine status, and vitrine ctl "
    "start brings it back with its children",
    "[cli][ctl][status]") {
  temp_dir flags;
  const auto flag = flags.file("healthy");
  // A temporary group stays failed (its parent does not restart it); with
  // intensity 0 the first restart its child wants fails it.
  live_run run{demo + R"(
[[group]]
name = "fragile"
restart = "temporary"
intensity = 0
[[group.program]]
name = "crashy"
command = "test -e )" +
               flag + R"( || exit 3; exec sleep 1000"
startsecs_ms = 0
)"};
  run.wait_status("fragile", "failed");
  auto r = run.cli({"status", "fragile"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(contains(r.output, "supervisor fragile: failed"));
  CHECK(contains(r.output, "crashy"));
  CHECK(contains(r.output, "exit 3"));

  std::ofstream{flag} << "ok\n";
  r = run.cli({"ctl", "start", "fragile"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(contains(r.output, "fragile: running"));
  CHECK(run.wait_status("crashy", "running").pid > 0);
  CHECK(run.wait_status("api", "running").pid > 0);  // the rest untouched
}

TEST_CASE(
    "vitrine reload while the programs are still being added waits for "
    "them, as SIGHUP does, then applies the file",
    "[cli][ctl][reload]") {
  const auto adding = run_still_adding(1500);
  auto& run = *adding;
  const auto r = run.cli({"reload"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(contains(r.output, "reloaded"));
  CHECK(run.wait_status("added", "running").pid > 0);
}

TEST_CASE(
    "vitrine status lists the programs in running order after a reload "
    "reused the status table's slots",
    "[cli][status][reload]") {
  const auto program = [](const std::string& name) {
    return "[[program]]\nname = \"" + name +
           "\"\ncommand = [\"sleep\", \"1000\"]\nstartsecs_ms = 0\n\n";
  };
  live_run run{program("a") + program("b") + program("c")};
  run.wait_status("c", "running");
  // `a` is removed (its slot freed), `d` is added after the others and
  // takes that slot.
  std::ofstream{run.dir().file("run.toml")}
      << program("b") + program("c") + program("d");
  REQUIRE(run.cli({"reload"}).code == 0);
  const auto r = run.cli({"status"});
  INFO(r.output);
  const auto at = [&](const std::string& name) {
    return r.output.find("\n" + name + " ");
  };
  CHECK(at("b") < at("c"));
  CHECK(at("c") < at("d"));
  CHECK(at("d") != std::string::npos);
  // Names asked for are listed in the run's order too, the others not.
  const auto some = run.cli({"status", "d", "b"});
  INFO(some.output);
  CHECK(some.code == 0);
  const auto b = some.output.find("\nb "), d = some.output.find("\nd ");
  CHECK(b != std::string::npos);
  CHECK(d != std::string::npos);
  CHECK(b < d);
  CHECK(some.output.find("\nc ") == std::string::npos);
}

TEST_CASE("ctl takes --state-dir and --timeout before the verb too",
          "[cli][ctl]") {
  live_run run{demo};
  const auto before = run.wait_status("api", "running");
  // Before: refused as unexpected arguments, exit 2.
  const auto restarted = run_cli(
      {"ctl", "--state-dir", run.state(), "--timeout", "20", "restart", "api"});
  INFO(restarted.output);
  CHECK(restarted.code == 0);
  CHECK(contains(restarted.output, "api: running pid="));
  CHECK(run.wait_status("api", "running").pid != before.pid);
  const auto empty = run_cli({"ctl", "--state-dir", "", "stop", "api"});
  CHECK(empty.code == 2);
  CHECK(contains(empty.output, "the path must not be empty"));
}
