// What `vitrine status --json` and `vitrine ctl` print about a run, checked
// against the run's own view (outside tester findings, 2026-12-05): a failed
// supervisor's last failure, a spawn error with a newline in its path, the
// order of the --json-status file after a reload.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_driver.hpp"
#include "live_run.hpp"

using namespace vitrine::test;

namespace {

/// Writes a shell script running `body` at `path`, executable; returns a
/// TOML `command` value naming it (quoted for any byte in the path).
std::string executable_script(const std::string& path,
                              const std::string& body) {
  std::ofstream{path} << "#!/bin/sh\n" << body << "\n";
  ::chmod(path.c_str(), 0755);
  return nlohmann::json::array({path}).dump();
}

}  // namespace

TEST_CASE(
    "status --json shows a failed supervisor's last failure field by field",
    "[cli][status]") {
  live_run run{R"(
[supervisor]
name = "top"

[[program]]
name = "steady"
command = ["sleep", "1000"]
startsecs_ms = 0

[[group]]
name = "fg"
intensity = 1
period_ms = 60000
restart = "temporary"

[[group.program]]
name = "cr"
command = "sleep 0.1; exit 4"
startsecs_ms = 0
backoff = { min_ms = 10, jitter = 0.0 }
)"};
  run.wait_status("fg", "failed");
  const auto result = run.cli({"status", "--json", "fg"});
  INFO(result.output);
  REQUIRE(result.code == 0);
  const auto doc = nlohmann::json::parse(result.output);
  REQUIRE(doc["supervisors"].size() == 1);
  const auto& failure = doc["supervisors"][0]["last_failure"];
  REQUIRE(failure.is_object());
  CHECK(failure["child"] == "cr");
  CHECK(failure["exit"] == "exit 4");
  CHECK(failure["restarts"] == 2);
  CHECK(failure["intensity"] == 1);
  CHECK(failure["period_ms"] == 60000);
  CHECK(failure["text"] ==
        "child 'cr' (exit 4): restarting it would make 2 restarts within 60000 "
        "ms, above intensity 1");
  // The table says the same (the group stays failed: temporary).
  const auto table = run.cli({"status", "fg"});
  INFO(table.output);
  CHECK(contains(table.output,
                 "failed: child 'cr' (exit 4): restarting it would make 2 "
                 "restarts within 60000 ms, above intensity 1"));
}

TEST_CASE("ctl prints a spawn error on one line, a newline in it escaped",
          "[cli][ctl]") {
  temp_dir scripts;
  // A script whose path holds a newline, executable when the run loads it
  // and not when it is started: its exec fails with EACCES, and the error
  // names the path.
  const std::string script = scripts.file("we\nird");
  const auto command = executable_script(script, "exec sleep 1000");
  live_run run{R"(
[[program]]
name = "w"
autostart = false
startsecs_ms = 0
command = )" + command +
               "\n"};
  run.wait_status("w", "stopped");
  ::chmod(script.c_str(), 0644);
  const auto result = run.cli({"ctl", "start", "w"});
  INFO(result.output);
  CHECK(result.code == 1);
  CHECK(contains(result.output, "w: FAILED: "));
  CHECK(contains(result.output, "we\\x0aird"));
  CHECK_FALSE(contains(result.output, "we\nird"));
}

namespace {

std::string three_sleeps(const std::string& first_seconds) {
  std::string toml;
  for (const std::string name : {"p1", "p2", "p3"})
    toml += "[[program]]\nname = \"" + name +
            "\"\nstartsecs_ms = 0\ncommand = [\"sleep\", \"" +
            (name == "p1" ? first_seconds : std::string{"1000"}) + "\"]\n";
  return toml;
}

}  // namespace

TEST_CASE(
    "the --json-status file keeps the file's order when a reload changes a "
    "program",
    "[cli][reload]") {
  temp_dir out;
  const auto file = out.file("status.json");
  live_run run{three_sleeps("1000"), "", {"--json-status", file}};
  const auto first = run.wait_status("p1", "running");
  run.wait_status("p3", "running");
  run.rewrite(three_sleeps("1001"));  // p1 changes: stopped, started anew
  const auto reload = run.cli({"reload"});
  INFO(reload.output);
  REQUIRE(reload.code == 0);
  // The file is rewritten once the change shows: wait for p1's new run.
  const auto shows_new_p1 = [&](const nlohmann::json& doc) {
    if (!doc.contains("processes") || doc["processes"].size() != 3)
      return false;
    for (const auto& p : doc["processes"])
      if (p["name"] == "p1")
        return p["pid"] != first.pid && p["status"] == "running";
    return false;
  };
  nlohmann::json doc;
  for (int i = 0; i < 1000 && !shows_new_p1(doc); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    doc = nlohmann::json::parse(read_file(file), nullptr, false);
  }
  INFO(read_file(file));
  REQUIRE(shows_new_p1(doc));
  std::vector<std::string> names;
  for (const auto& p : doc["processes"]) names.push_back(p["name"]);
  CHECK(names == std::vector<std::string>{"p1", "p2", "p3"});
  const auto json = nlohmann::json::parse(run.cli({"status", "--json"}).output);
  std::vector<std::string> from_table;
  for (const auto& p : json["processes"]) from_table.push_back(p["name"]);
  CHECK(from_table == names);
}

TEST_CASE(
    "ctl naming a program the run has not added yet waits until it is added",
    "[cli][ctl]") {
  // 3,000 programs take the run a few hundred ms to add (registered in
  // file order), and its control socket serves from the start.
  live_run run{sleep_programs(3000, "autostart = false\n")};
  const auto socket = run.state() + "/control";
  struct stat st {};
  for (int i = 0; i < 1000 && ::stat(socket.c_str(), &st) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  const auto result = run.cli({"ctl", "start", "p2999"});
  INFO(result.output);
  CHECK(result.code == 0);
  CHECK(contains(result.output, "p2999: running"));
}

TEST_CASE("ctl restarts a program and its own group in one request",
          "[cli][ctl]") {
  live_run run{R"(
[[group]]
name = "g"
[[group.program]]
name = "w2"
command = ["sleep", "1000"]
startsecs_ms = 0
)"};
  const auto before = run.wait_status("w2", "running");
  const auto result = run.cli({"ctl", "restart", "w2", "g"});
  INFO(result.output);
  CHECK(result.code == 0);
  // One line each, in the request's order.
  const auto w2_line = result.output.find("w2: running pid=");
  const auto g_line = result.output.find("g: running");
  CHECK(w2_line != std::string::npos);
  CHECK(g_line != std::string::npos);
  CHECK(w2_line < g_line);
  CHECK_FALSE(contains(result.output, "FAILED"));
  CHECK_FALSE(
      contains(result.output, "w2: running pid=" + std::to_string(before.pid)));
}

TEST_CASE(
    "run --plain shows a failed program's new spawn error when it fails "
    "again",
    "[cli][run]") {
  temp_dir scripts;
  const std::string script = scripts.file("quits");
  const auto command = executable_script(script, "exit 1");
  live_run run{R"(
[[program]]
name = "nep"
startsecs_ms = 1000
startretries = 0
command = )" + command +
               "\n"};
  run.wait_status("nep", "failed");
  ::chmod(script.c_str(), 0644);  // its next exec fails: EACCES
  const auto result = run.cli({"ctl", "start", "nep"});
  INFO(result.output);
  CHECK(result.code == 1);
  std::string log;
  for (int i = 0; i < 500; ++i) {
    log = read_file(run.log());
    if (contains(log, "Permission denied")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  INFO(log);
  CHECK(contains(log, "nep failed"));
  CHECK(contains(log, "Permission denied\""));
}

TEST_CASE("ctl refuses an option given both before and after the verb",
          "[cli][ctl]") {
  for (const auto& option : {"--timeout", "--state-dir"}) {
    const std::string value = std::string{option} == "--timeout" ? "5" : "/x";
    const auto result =
        run_cli({"ctl", option, value, "stop", "x", option, value});
    INFO(result.output);
    CHECK(result.code == 2);
    CHECK(contains(result.output, std::string{"vitrine: ctl: "} + option +
                                      " is given both before and after the "
                                      "verb: give it once\nRun with --help"));
  }
}

TEST_CASE("ctl restarts a group and a group inside it, in either order",
          "[cli][ctl]") {
  live_run run{R"(
[[group]]
name = "g"
[[group.group]]
name = "h"
[[group.group.program]]
name = "x"
command = ["sleep", "1000"]
startsecs_ms = 0
)"};
  run.wait_status("x", "running");
  for (const auto& order : {std::vector<std::string>{"g", "h"},
                            std::vector<std::string>{"h", "g"}}) {
    std::vector<std::string> args{"ctl", "--timeout", "10", "restart"};
    args.insert(args.end(), order.begin(), order.end());
    const auto result = run.cli(args);
    INFO(order[0] << " " << order[1] << ":\n" << result.output);
    CHECK(result.code == 0);
    CHECK(contains(result.output, "g: running"));
    CHECK(contains(result.output, "h: running"));
  }
}

TEST_CASE(
    "vitrine reload prints the new file's warnings, whether it applies the "
    "file or refuses it",
    "[cli][reload]") {
  const std::string sleeper =
      "[[program]]\nname = \"calm\"\ncommand = [\"sleep\", \"1000\"]\n"
      "startsecs_ms = 0\n";
  live_run run{sleeper};
  run.wait_status("calm", "running");
  // SIGWINCH stops no program: a warning, not a problem.
  run.rewrite(sleeper + "stop_signal = \"WINCH\"\n");
  const auto applied = run.cli({"reload"});
  INFO(applied.output);
  CHECK(applied.code == 0);
  // Before: only the run's own stderr had it; the client said "reloaded".
  CHECK(applied.output.find("run.toml:5:1: program[calm].stop_signal: "
                            "warning: SIGWINCH ends a program only if it "
                            "handles it") != std::string::npos);
  CHECK(applied.output.find("reloaded") != std::string::npos);
  // The run's summary too, before "reloaded" (before: only on the run's
  // own output, so a client could not tell what the reload did).
  const auto changed = applied.output.find("reload: changed 1 (calm)\n");
  CHECK(changed != std::string::npos);
  CHECK(changed < applied.output.find("reloaded"));
  CHECK(applied.output.find("reload: unchanged 0\n") != std::string::npos);

  // Refused: the warning among the problems, in the file's order, as
  // `vitrine check` prints them (before: the warnings first), and once.
  run.rewrite(sleeper + "startretries = -1\nstop_signal = \"WINCH\"\n");
  const auto refused = run.cli({"reload"});
  INFO(refused.output);
  CHECK(refused.code == 1);
  const auto problem = refused.output.find(":5:1: program[calm].startretries");
  const auto warning = refused.output.find(":6:1: program[calm].stop_signal");
  CHECK(problem != std::string::npos);
  CHECK(warning != std::string::npos);
  CHECK(problem < warning);
  const auto said = refused.output.find("warning: SIGWINCH");
  CHECK(refused.output.find("warning: SIGWINCH", said + 1) ==
        std::string::npos);
}
