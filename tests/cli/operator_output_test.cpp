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

#include "live_run.hpp"

using namespace vitrine::test;

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
        "child 'cr' (exit 4): 2 restarts within 60000 ms exceed intensity 1");
  // The table says the same.
  const auto table = run.cli({"status", "fg"});
  CHECK(contains(table.output,
                 "failed: child 'cr' (exit 4): 2 restarts "
                 "within 60000 ms exceed intensity 1"));
}

TEST_CASE("ctl prints a spawn error on one line, a newline in it escaped",
          "[cli][ctl]") {
  temp_dir scripts;
  // A script whose path holds a newline, executable when the run loads it
  // and not when it is started: its exec fails with EACCES, and the error
  // names the path.
  const std::string script = scripts.file("we\nird");
  std::ofstream{script} << "#!/bin/sh\nexec sleep 1000\n";
  ::chmod(script.c_str(), 0755);
  nlohmann::json command = nlohmann::json::array({script});
  live_run run{R"(
[[program]]
name = "w"
autostart = false
startsecs_ms = 0
command = )" + command.dump() +
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
  std::string toml;
  for (int i = 0; i < 3000; ++i)
    toml += "[[program]]\nname = \"p" + std::to_string(i) +
            "\"\ncommand = [\"sleep\", \"1000\"]\nautostart = false\n";
  live_run run{toml};
  const auto socket = run.state() + "/control";
  struct stat st {};
  for (int i = 0; i < 1000 && ::stat(socket.c_str(), &st) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  const auto result = run.cli({"ctl", "start", "p2999"});
  INFO(result.output);
  CHECK(result.code == 0);
  CHECK(contains(result.output, "p2999: running"));
}
