// `vitrine logs` against real runs: -f on a capture that rotates many
// times between two polls, a reader that goes away while the program is
// idle, and what `logs` refuses.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "fake_state.hpp"
#include "live_run.hpp"
#include "support/freeze.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

/// "line FIRST\n" ... "line LAST\n".
std::string numbered_lines(int first, int last) {
  std::string text;
  for (int i = first; i <= last; ++i)
    text += "line " + std::to_string(i) + "\n";
  return text;
}

/// Where `actual` first differs from `expected`: a readable failure when
/// the texts are megabytes long.
std::string first_difference(const std::string& actual,
                             const std::string& expected) {
  if (actual == expected) return "none";
  const auto diverge = std::mismatch(actual.begin(), actual.end(),
                                     expected.begin(), expected.end());
  const auto at = static_cast<std::size_t>(diverge.first - actual.begin());
  const auto line_start = actual.rfind('\n', at == 0 ? 0 : at - 1);
  const auto from = line_start == std::string::npos ? 0 : line_start + 1;
  return "at byte " + std::to_string(at) + " (of " +
         std::to_string(actual.size()) + ", expected " +
         std::to_string(expected.size()) + "): got '" +
         actual.substr(from, 60) + "', expected '" + expected.substr(from, 60) +
         "'";
}

/// A program "seq" that prints "ready", waits for the file `go`, then
/// prints "line 1" ... "line COUNT" as fast as it can, then "DONE", into
/// `stdout` (a capture table).
std::string burst_config(const std::string& go, int count,
                         const std::string& stdout_table) {
  return "[[program]]\nname = \"seq\"\ncommand = \"echo ready; while [ ! -e " +
         go + " ]; do sleep 0.02; done; seq -f 'line %.0f' 1 " +
         std::to_string(count) +
         "; echo DONE; exec sleep 1000\"\nstartsecs_ms = 0\nstdout = " +
         stdout_table + "\n";
}

/// `vitrine logs seq -f -n 1` on `run`, once its capture says "ready":
/// returns when the follower printed that line (so it has the file open).
std::unique_ptr<cli_process> follow_when_ready(live_run& run,
                                               const std::string& output) {
  REQUIRE(wait_for_text(run.dir().file("seq.log"), "ready\n", 20s,
                        run.process().pid()));
  auto follow = std::make_unique<cli_process>(
      std::vector<std::string>{"logs", "seq", "-f", "-n", "1", "--state-dir",
                               run.state()},
      output);
  REQUIRE(wait_for_text(output, "ready\n", 20s, follow->pid()));
  return follow;
}

/// One program that prints "one" to its capture, uno.log, then idles.
const std::string idle_echo_config = R"([[program]]
name = "uno"
command = "echo one; exec sleep 1000"
startsecs_ms = 0
stdout = { capture = "uno.log" }
)";

void stop(cli_process& process) {
  REQUIRE(::kill(process.pid(), SIGTERM) == 0);
  CHECK(process.wait(20s) == std::optional<int>{0});
}

}  // namespace

TEST_CASE("logs -f prints every line once while the capture rotates fast",
          "[cli][logs]") {
  temp_dir gate;
  // ~1.1 MB in 20,000-byte files (~55 rotations in well under a second:
  // many between two polls); the 100 backups keep them all.
  live_run run{burst_config(
      gate.file("go"), 100'000,
      "{ capture = \"seq.log\", max_bytes = 20000, backups = 100 }")};
  const auto output = run.dir().file("follow.out");
  auto follow = follow_when_ready(run, output);
  std::ofstream{gate.file("go")};
  REQUIRE(wait_for_text(output, "DONE\n", 60s, follow->pid()));
  stop(*follow);
  const std::string expected =
      "ready\n" + numbered_lines(1, 100'000) + "DONE\n";
  const std::string actual = read_file(output);
  CHECK(first_difference(actual, expected) == "none");
  stop(run.process());
}

TEST_CASE("logs -f says so when rotation removed output it had not read",
          "[cli][logs]") {
  temp_dir gate;
  // ~115 rotations while the follower is stopped; 2 backups.
  live_run run{
      burst_config(gate.file("go"), 40'000,
                   "{ capture = \"seq.log\", max_bytes = 4096, backups = 2 }")};
  const auto output = run.dir().file("follow.out");
  auto follow = follow_when_ready(run, output);
  REQUIRE(vitrine::test::freeze(follow->pid()));
  std::ofstream{gate.file("go")};
  REQUIRE(wait_for_text(run.dir().file("seq.log"), "DONE\n", 20s,
                        run.process().pid()));
  REQUIRE(::kill(follow->pid(), SIGCONT) == 0);
  REQUIRE(wait_for_text(output, "DONE\n", 20s, follow->pid()));
  stop(*follow);
  const std::string text = read_file(output);
  INFO(text);
  const std::string notice =
      "vitrine: skipped: some output of " + run.dir().file("seq.log") +
      " was rotated away before it was read (more than 2 rotations behind); "
      "going on with " +
      run.dir().file("seq.log.2") + " after its first newline\n";
  const auto at = text.find(notice);
  REQUIRE(at != std::string::npos);
  // Before it, the file it had open, to its end; after it, the oldest file
  // left (from after its first newline) and the newer ones: the last
  // lines, then DONE.
  const auto before = numbers_after(text.substr(0, at), "line ");
  const auto after = numbers_after(text.substr(at), "line ");
  CHECK(consecutive(before));
  CHECK(consecutive(after));
  REQUIRE(!before.empty());
  REQUIRE(!after.empty());
  CHECK(before.front() == 1);
  CHECK(after.front() > before.back() + 1);
  CHECK(after.back() == 40'000);
  CHECK(text.ends_with("line 40000\nDONE\n"));
  stop(run.process());
}

TEST_CASE("logs -f ends when its reader goes away while the program is idle",
          "[cli][logs]") {
  live_run run{idle_echo_config};
  REQUIRE(wait_for_text(run.dir().file("uno.log"), "one\n", 20s,
                        run.process().pid()));
  // `head -1` exits after the first line; the program writes nothing more.
  const std::string status = run.dir().file("status");
  const std::string command =
      "(timeout 10 " VITRINE_CLI_PATH " logs uno -f -n 1 --state-dir " +
      run.state() + "; echo $? > " + status + ") | head -1";
  const auto start = std::chrono::steady_clock::now();
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string printed;
  char buffer[256];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
    printed.append(buffer, n);
  ::pclose(pipe);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(printed == "one\n");
  CHECK(read_file(status) == "0\n");  // not 124: timeout did not end it
  CHECK(took < 5s);
  stop(run.process());
}

TEST_CASE("logs -f ends on each stop signal and on a hangup", "[cli][logs]") {
  live_run run{idle_echo_config};
  REQUIRE(wait_for_text(run.dir().file("uno.log"), "one\n", 20s,
                        run.process().pid()));
  for (const int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGXCPU, SIGPWR}) {
    INFO(strsignal(sig));
    const auto output = run.dir().file("follow.out");
    cli_process follow{
        {"logs", "uno", "-f", "-n", "1", "--state-dir", run.state()}, output};
    REQUIRE(wait_for_text(output, "one\n", 20s, follow.pid()));
    REQUIRE(::kill(follow.pid(), sig) == 0);
    // SIGHUP: the terminal went away, as for tail -f (it reloaded nothing
    // and kept following before).
    CHECK(follow.wait(20s) == std::optional<int>{0});
  }
  stop(run.process());
}

TEST_CASE(
    "logs -f ends once a reload removed the program, after the output "
    "written before; a reload that changes it goes on",
    "[cli][logs]") {
  // Before, it followed the abandoned file for ever.
  const std::string other =
      "[[program]]\nname = \"other\"\ncommand = [\"sleep\", \"1000\"]\n";
  live_run run{idle_echo_config + other};
  REQUIRE(wait_for_text(run.dir().file("uno.log"), "one\n", 20s,
                        run.process().pid()));
  const auto output = run.dir().file("follow.out");
  cli_process follow{
      {"logs", "uno", "-f", "-n", "1", "--state-dir", run.state()}, output};
  REQUIRE(wait_for_text(output, "one\n", 20s, follow.pid()));
  // Changed (a new command, the same capture): replaced, not removed.
  std::string changed = idle_echo_config;
  changed.replace(changed.find("echo one"), 8, "echo two");
  run.dir().write("run.toml", changed + other);
  REQUIRE(run.cli({"reload"}).code == 0);
  REQUIRE(wait_for_text(output, "two\n", 20s, follow.pid()));
  std::this_thread::sleep_for(2500ms);  // past two looks at the run
  CHECK_FALSE(follow.wait(0ms).has_value());
  // Removed: it ends on its own.
  run.dir().write("run.toml", other);
  REQUIRE(run.cli({"reload"}).code == 0);
  CHECK(follow.wait(20s) == std::optional<int>{0});
  CHECK(read_file(output) ==
        "one\ntwo\nvitrine: program 'uno' was removed from the run (by a "
        "reload): nothing more is written to its capture\n");
  stop(run.process());
}

TEST_CASE(
    "logs -f follows a reload that moves the capture: to a new file from "
    "its start, to an older one from its last lines",
    "[cli][logs]") {
  // Before, it went on reading the file the replaced program had left.
  live_run run{idle_echo_config};
  REQUIRE(wait_for_text(run.dir().file("uno.log"), "one\n", 20s,
                        run.process().pid()));
  run.dir().write("old.log", "stale 1\nstale 2\n");  // before logs starts
  const auto output = run.dir().file("follow.out");
  cli_process follow{
      {"logs", "uno", "-f", "-n", "1", "--state-dir", run.state()}, output};
  REQUIRE(wait_for_text(output, "one\n", 20s, follow.pid()));
  const auto move_to = [&](const std::string& leaf, const std::string& word) {
    std::string moved = idle_echo_config;
    moved.replace(moved.find("echo one"), 8, "echo " + word);
    moved.replace(moved.find("uno.log"), 7, leaf);
    run.dir().write("run.toml", moved);
    REQUIRE(run.cli({"reload"}).code == 0);
  };
  move_to("new.log", "two");  // created by the new program: all of it
  REQUIRE(wait_for_text(output, "two\n", 20s, follow.pid()));
  move_to("old.log", "three");  // older than logs: its last line, then on
  REQUIRE(wait_for_text(output, "three\n", 20s, follow.pid()));
  stop(follow);
  // Its last line is "stale 2" or "three", as the look came before or after
  // the new program wrote: never its whole history.
  const std::string text = read_file(output);
  const std::string second_notice = "vitrine: program 'uno' now writes to " +
                                    run.dir().file("old.log") +
                                    " (a reload changed its capture); "
                                    "following it\n";
  CHECK(text.substr(0, text.find(second_notice)) ==
        "one\nvitrine: program 'uno' now writes to " +
            run.dir().file("new.log") +
            " (a reload changed its capture); following it\ntwo\n");
  const auto after =
      text.substr(text.find(second_notice) + second_notice.size());
  CHECK((after == "three\n" || after == "stale 2\nthree\n"));
  stop(run.process());
}

TEST_CASE("logs refuses a negative line count", "[cli][logs]") {
  const auto result = run_cli({"logs", "seq", "-n", "-1"});
  INFO(result.output);
  CHECK(result.code == 2);
  CHECK(contains(result.output,
                 "-n/--lines: '-1' is not a number of lines (digits, 0 or "
                 "more)"));
}

TEST_CASE("logs refuses a capture that is missing or not a regular file",
          "[cli][logs]") {
  temp_dir dir;
  const auto config = dir.write("caps.toml", R"([[program]]
name = "b"
command = ["sleep", "1000"]
stdout = { capture = "sub" }

[[program]]
name = "later"
command = ["sleep", "1000"]
stdout = { capture = "later.log" }
)");
  REQUIRE(std::filesystem::create_directory(dir.file("sub")));
  fake_state state{dir, config};
  const auto directory = run_cli({"logs", "b", "--state-dir", state.path});
  INFO(directory.output);
  CHECK(directory.code == 1);
  CHECK(contains(directory.output, "the capture of program 'b', " +
                                       dir.file("sub") +
                                       ", is a directory, not a regular file"));
  const auto missing = run_cli({"logs", "later", "--state-dir", state.path});
  INFO(missing.output);
  CHECK(missing.code == 1);
  CHECK(contains(missing.output, dir.file("later.log") +
                                     " does not exist (yet): program "
                                     "'later' has not started"));
}
