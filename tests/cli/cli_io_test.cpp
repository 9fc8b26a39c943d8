// The `vitrine` binary's output and inputs: --plain prints every transition
// of a crash loop in order, `logs` shows and follows a program's captured
// output across rotation, and bad command lines name what is wrong.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

#include "cli_driver.hpp"
#include "fake_state.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

/// The lines of `text` that contain `needle`.
std::vector<std::string> lines_with(const std::string& text,
                                    const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

/// The value after `key=` in a plain line ("" when absent).
std::string field(const std::string& line, const std::string& key) {
  const auto at = line.find(" " + key + "=");
  if (at == std::string::npos) return {};
  const auto begin = at + key.size() + 2;
  return line.substr(begin, line.find(' ', begin) - begin);
}

/// The status word of a plain process line: "HH:MM:SS.mmm NAME STATUS ...".
std::string status_of(const std::string& line) {
  std::istringstream in{line};
  std::string clock, name, status;
  in >> clock >> name >> status;
  return status;
}

/// `vitrine run CONFIG --plain` until its output holds `marker`, then
/// stopped by SIGTERM (exit 0 required): everything it printed.
std::string plain_run_until(const std::string& config,
                            const std::string& marker, temp_dir& dir) {
  const auto output = dir.file("output");
  cli_process cli{{"run", config, "--plain"}, output};
  REQUIRE(wait_for_text(output, marker, 30s, cli.pid()));
  REQUIRE(::kill(cli.pid(), SIGTERM) == 0);
  REQUIRE(cli.wait(20s) == std::optional<int>{0});
  return read_file(output);
}

}  // namespace

TEST_CASE("run --plain prints every transition of a crash loop, in order",
          "[cli][plain]") {
  temp_dir dir;
  // Zero backoff: each cycle is starting -> running (after 10 ms) ->
  // backoff (the exit, restarted at once); the fifth exit passes the
  // restart limit (burst 4) and the program alone fails.
  const auto config = dir.write("loop.toml", R"([[program]]
name = "loop"
command = "sleep 0.1; exit 1"
startsecs_ms = 10
backoff = { min_ms = 0, max_ms = 0, jitter = 0 }
restart_limit = { burst = 4, interval_ms = 600000 }
)");
  const auto text = plain_run_until(config, " loop failed ", dir);
  INFO(text);
  CHECK(text.find("not shown") == std::string::npos);
  std::vector<std::string> statuses;
  const auto lines = lines_with(text, " loop ");
  for (const auto& line : lines) statuses.push_back(status_of(line));
  const std::vector<std::string> cycle{"starting", "running", "backoff"};
  std::vector<std::string> expected;
  for (int i = 0; i < 4; ++i)
    expected.insert(expected.end(), cycle.begin(), cycle.end());
  expected.insert(expected.end(), {"starting", "running", "failed"});
  CHECK(statuses == expected);
  // Each cycle: one pid from starting to running (the restarts before it
  // counted as it starts), then the exit, and the times never go back.
  for (std::size_t i = 0; i + 2 < lines.size(); i += 3) {
    CHECK(field(lines[i], "restarts") == std::to_string(i / 3));
    CHECK(field(lines[i + 2], "restarts") == std::to_string(i / 3));
    CHECK(field(lines[i], "pid") == field(lines[i + 1], "pid"));
    CHECK(field(lines[i], "pid") != "0");
    CHECK(field(lines[i + 2], "pid") == "0");
    CHECK(field(lines[i + 2], "last_exit") == "exit");  // "exit 1"
    CHECK(lines[i + 2].find("last_exit=exit 1") != std::string::npos);
  }
  for (std::size_t i = 1; i < lines.size(); ++i)
    CHECK(lines[i - 1].substr(0, 12) <= lines[i].substr(0, 12));
  // Every supervisor shows, the runtime's root and the top one.
  CHECK(text.find(" supervisor root running restarts=0") != std::string::npos);
  CHECK(text.find(" supervisor main running restarts=4") != std::string::npos);
  CHECK(text.find(" supervisor main stopped ") != std::string::npos);
}

TEST_CASE("bad command lines name what is wrong", "[cli]") {
  const auto unknown = run_cli({"frobnicate", "x"});
  CHECK(unknown.code == 2);
  // Said as vitrine's other errors are, CLI11's own included.
  CHECK(unknown.output.starts_with("vitrine: unknown command"));
  CHECK(
      run_cli({"status", ""}).output.starts_with("vitrine: status: NAME...: "));
  CHECK(
      unknown.output.find("unknown command 'frobnicate' (one of run, check") !=
      std::string::npos);
  // The remote commands are listed too.
  CHECK(unknown.output.find(", node, watch)") != std::string::npos);
  // vitrine-run, run by hand, names the commands `vitrine` keeps.
  const std::string cli_path = VITRINE_CLI_PATH;
  const std::string runner =
      cli_path.substr(0, cli_path.rfind('/') + 1) + "vitrine-run";
  FILE* pipe = ::popen(("'" + runner + "' status 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string runner_output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
    runner_output += buffer;
  const int runner_status = ::pclose(pipe);
  INFO(runner_output);
  CHECK(WIFEXITED(runner_status));
  CHECK(WEXITSTATUS(runner_status) == 2);
  CHECK(runner_output.starts_with(
      "vitrine: unknown command 'status' (one of run, check, logs, node, "
      "watch); "
      "`vitrine` itself runs status, ctl and reload\n"));
  const auto hostile = run_cli({"a\x1b[2J"});
  CHECK(hostile.code == 2);
  CHECK(hostile.output.find("unknown command 'a\\x1b[2J'") !=
        std::string::npos);
  temp_dir dir;
  const auto config = dir.write(
      "one.toml", "[[program]]\nname = \"a\"\ncommand = [\"sleep\", \"1\"]\n");
  const auto empty = run_cli({"run", config, "--json-status", ""});
  CHECK(empty.code == 2);
  CHECK(empty.output.find("--json-status: the path must not be empty") !=
        std::string::npos);
  for (const char* command : {"check", "run"}) {
    INFO(command << " \"\"");
    const auto no_file = run_cli({command, ""});
    CHECK(no_file.code == 2);
    CHECK(no_file.output.find(": FILE: the path must not be empty") !=
          std::string::npos);
  }
  // An empty --state-dir or --file (an unset variable) is refused: read as
  // no option, it let the default discovery pick another run.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"status", "--state-dir", ""},
           {"status", "--file", ""},
           {"ctl", "stop", "web", "--state-dir", ""},
           {"ctl", "signal", "TERM", "web", "--state-dir", ""},
           {"reload", "--state-dir", ""}}) {
    INFO(args[0] << " " << args[1]);
    const auto refused = run_cli(args);
    CHECK(refused.code == 2);
    CHECK(refused.output.find(": the path must not be empty") !=
          std::string::npos);
  }
  // `--NAME=` is an empty value too: CLI11 read it as `--NAME` alone and
  // took the next word as its value (`run --state-dir= FILE` then lacked
  // its FILE; `status --state-dir=` said "missing its value").
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", "--state-dir=", config},
           {"run", config, "--json-status="},
           {"status", "--state-dir="},
           {"ctl", "stop", "web", "--state-dir="}}) {
    INFO(args[0] << " " << args[1] << " " << args.back());
    const auto refused = run_cli(args);
    CHECK(refused.code == 2);
    CHECK(refused.output.find(": the path must not be empty") !=
          std::string::npos);
  }
  // Names the run cannot hold are usage errors, found before any run is
  // looked for.
  for (const auto& verb :
       std::vector<std::vector<std::string>>{{"ctl", "stop"}, {"status"}}) {
    INFO(verb[0]);
    auto args = verb;
    args.insert(args.end(), {"web", ""});
    const auto empty_name = run_cli(args);
    CHECK(empty_name.code == 2);
    CHECK(empty_name.output.find("a name must have 1 to 255 bytes (this one "
                                 "has 0)") != std::string::npos);
    args.back() = std::string(256, 'n');
    CHECK(run_cli(args).code == 2);
    auto crowd = verb;
    crowd.resize(verb.size() + 4097, "web");
    const auto too_many = run_cli(crowd);
    CHECK(too_many.code == 2);
    CHECK(too_many.output.find("too many names (4097; at most 4096)") !=
          std::string::npos);
  }
  // For a node as for a local run, a signal's SIG is not one of the names:
  // 4,096 names pass (and the command goes on to find nothing at port 1).
  std::vector<std::string> node_crowd{
      "ctl", "--node", "127.0.0.1:1", "signal", "TERM", "--timeout-ms", "200"};
  node_crowd.resize(node_crowd.size() + 4096, "web");
  const auto node_full = run_cli(node_crowd);
  INFO(node_full.output.substr(0, 500));
  CHECK(node_full.code == 1);
  CHECK(node_full.output.find("too many names") == std::string::npos);
  node_crowd.push_back("web");
  const auto node_too_many = run_cli(node_crowd);
  CHECK(node_too_many.code == 2);
  CHECK(node_too_many.output.find("too many names (4097; at most 4096)") !=
        std::string::npos);
  // A command's own command is named too, not only "a subcommand is
  // required".
  const auto ctl = run_cli({"ctl", "frobnicate", "a\x1b[2J"});
  CHECK(ctl.code == 2);
  CHECK(ctl.output.find("vitrine: ctl: unknown command 'frobnicate' (one of "
                        "start, "
                        "stop, restart, signal)") != std::string::npos);
}

TEST_CASE("check names the key of an argument over MAX_ARG_STRLEN",
          "[cli][limits]") {
  temp_dir dir;
  const auto config = dir.write(
      "big.toml", "[[program]]\nname = \"big\"\ncommand = [\"echo\", \"" +
                      std::string(128 << 10, 'x') + "\"]\n");
  const auto result = run_cli({"check", config});
  CHECK(result.code == 1);
  CHECK(result.output.find(":3:1: program[big].command: element 1 is 131072 "
                           "bytes, above the limit of 131071 bytes") !=
        std::string::npos);
}

TEST_CASE("logs prints the last lines of a capture, across rotated files",
          "[cli][logs]") {
  temp_dir dir;
  const auto config = dir.write("logs.toml", R"([[program]]
name = "counter"
command = "for i in $(seq 1 300); do echo line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done; exec sleep 1000"
startsecs_ms = 0
stdout = { capture = "counter.log", max_bytes = 4096, backups = 2 }

[[program]]
name = "quiet"
command = ["sleep", "1000"]
)");
  fake_state state{dir, config};
  cli_process run{{"run", config, "--plain"}, dir.file("run.out")};
  REQUIRE(wait_for_text(dir.file("counter.log"), "line 300 ", 20s, run.pid()));
  // 4096-byte files hold ~41 lines of ~100 bytes: the last 30 span one or
  // two files, the 1,000 asked for below all three.
  const auto last =
      run_cli({"logs", "counter", "-n", "30", "--state-dir", state.path});
  INFO(last.output);
  CHECK(last.code == 0);
  auto numbers = numbers_after(last.output, "line ");
  CHECK(numbers.size() == 30);
  CHECK(consecutive(numbers));
  CHECK(numbers.back() == 300);
  const auto ten = run_cli({"logs", "counter", "--state-dir", state.path});
  CHECK(numbers_after(ten.output, "line ") ==
        std::vector<int>{291, 292, 293, 294, 295, 296, 297, 298, 299, 300});
  // More than the files keep: what is left, still in order.
  const auto all =
      run_cli({"logs", "counter", "-n", "1000", "--state-dir", state.path});
  numbers = numbers_after(all.output, "line ");
  CHECK(consecutive(numbers));
  CHECK(numbers.back() == 300);
  CHECK(numbers.size() < 300);

  const auto quiet = run_cli({"logs", "quiet", "--state-dir", state.path});
  CHECK(quiet.code == 1);
  CHECK(quiet.output.find("program 'quiet' does not capture its output "
                          "(stdout is inherited, stderr is inherited): add "
                          "`stdout = { capture = ") != std::string::npos);
  const auto missing = run_cli({"logs", "nope", "--state-dir", state.path});
  CHECK(missing.code == 1);
  CHECK(missing.output.find("no program 'nope' in " + config) !=
        std::string::npos);
  const auto no_dir =
      run_cli({"logs", "counter", "--state-dir", dir.file("none")});
  CHECK(no_dir.code == 1);
  REQUIRE(::kill(run.pid(), SIGTERM) == 0);
  CHECK(run.wait(20s) == std::optional<int>{0});
}

TEST_CASE("logs -f follows a capture across rotation until SIGTERM",
          "[cli][logs]") {
  temp_dir dir;
  // A line of ~100 bytes every 10 ms, a rotation every ~40 lines.
  const auto config = dir.write("tick.toml", R"([[program]]
name = "ticker"
command = "i=0; while :; do i=$((i+1)); echo tick $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; sleep 0.01; done"
startsecs_ms = 0
stdout = { capture = "tick.log", max_bytes = 4096, backups = 1 }
)");
  fake_state state{dir, config};
  cli_process run{{"run", config, "--plain"}, dir.file("run.out")};
  REQUIRE(wait_for_text(dir.file("tick.log"), "tick 5 ", 20s, run.pid()));
  const auto output = dir.file("follow.out");
  cli_process follow{
      {"logs", "ticker", "-f", "-n", "3", "--state-dir", state.path}, output};
  // Past several rotations (tick.log replaced each ~4 KiB, ~40 lines).
  REQUIRE(wait_for_text(output, "tick 200 ", 30s, follow.pid()));
  REQUIRE(::kill(follow.pid(), SIGTERM) == 0);
  CHECK(follow.wait(5s) == std::optional<int>{0});
  const auto numbers = numbers_after(read_file(output), "tick ");
  INFO(read_file(output));
  CHECK(consecutive(numbers));  // nothing lost or repeated at a rotation
  // It followed ~three rotations (40 lines each) or more; where it began
  // depends on how fast `logs -f` started (slow under the sanitizers).
  REQUIRE(!numbers.empty());
  CHECK(numbers.back() - numbers.front() >= 120);
  REQUIRE(::kill(run.pid(), SIGTERM) == 0);
  CHECK(run.wait(20s) == std::optional<int>{0});
}

TEST_CASE("status refuses what is not a regular file, without waiting",
          "[cli][limits]") {
  temp_dir dir;
  const auto fifo = dir.file("status.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto from_fifo = run_cli({"status", "--file", fifo});
  CHECK(from_fifo.code == 1);
  CHECK(from_fifo.output.find(fifo + ": is a FIFO, not a regular file") !=
        std::string::npos);
  const auto from_zero = run_cli({"status", "--file", "/dev/zero"});
  CHECK(from_zero.code == 1);
  CHECK(from_zero.output.find(
            "/dev/zero: is a character device, not a regular file") !=
        std::string::npos);
}

TEST_CASE("a file name with control characters is printed escaped",
          "[cli][escape]") {
  temp_dir dir;
  const auto path = dir.write("a\x1b[2J\n.toml", "nope = \n");
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"check", path},
        std::vector<std::string>{"run", path},
        std::vector<std::string>{"status", "--file", path}}) {
    const auto result = run_cli(command);
    INFO(command[0] << ": " << result.output);
    CHECK(result.code == 1);
    CHECK(result.output.find('\x1b') == std::string::npos);
    CHECK(result.output.find("a\\x1b[2J\\x0a.toml") != std::string::npos);
  }
}

TEST_CASE(
    "a state directory or an argument with control characters is printed "
    "escaped by status, ctl and reload",
    "[cli][escape]") {
  // An outside tester: `status --state-dir $'/tmp/\x1b[31mred'` wrote the
  // raw escape in its error, as did ctl and reload, and a usage error
  // echoed `--x\x1b[2J` as typed.
  temp_dir dir;
  const std::string missing = dir.file("sd\x1b[31m\xff");
  const std::string shown = "sd\\x1b[31m\\xff";
  const auto existing = dir.file(
      "esc\x1b"
      "dir");
  REQUIRE(::mkdir(existing.c_str(), 0700) == 0);
  const std::vector<std::vector<std::string>> commands{
      {"status", "--state-dir", missing},
      {"status", "p1", "--json", "--state-dir", missing},
      {"ctl", "restart", "p1", "--state-dir", missing},
      {"reload", "--state-dir", missing},
      {"status", "--state-dir", existing},
      {"ctl", "stop", "p1", "--state-dir", existing},
      {"status", "--x\x1b[2J"},
      {"ctl", "signal", "CONT", "p1", "--timeout", "\x1b[2J"}};
  for (const auto& command : commands) {
    const auto result = run_cli(command);
    INFO(command[0] << " " << command[1] << ": " << result.output);
    CHECK(result.code != 0);
    CHECK(result.output.find('\x1b') == std::string::npos);
    CHECK(result.output.find('\xff') == std::string::npos);
    CHECK(result.output.find("\\x1b") != std::string::npos);
  }
  CHECK(run_cli(commands[0]).output.find(shown) != std::string::npos);
}

TEST_CASE("run --plain shows the transitions of a start that waits on retries",
          "[cli][plain]") {
  temp_dir dir;
  // Under rest_for_one the tree is added once `first` runs: after five
  // early exits (two transitions each), more than a history keeps (8).
  // The lines must come as they happen, not from one late look (each
  // attempt lasts 50 ms: a tick of 100 ms sees at most 4 transitions).
  const auto count = dir.file("count");
  const std::string first_command =
      "n=$(cat " + count + " 2>/dev/null || echo 0); echo $((n+1)) > " + count +
      "; [ $n -ge 5 ] && exec sleep 1000; sleep 0.05; exit 1";
  const auto config = dir.write(
      "retry.toml",
      "[supervisor]\nstrategy = \"rest_for_one\"\nintensity = 20\n"
      "[[program]]\nname = \"first\"\ncommand = \"" +
          first_command +
          "\"\nstartsecs_ms = 500\nstartretries = 10\n"
          "backoff = { min_ms = 0, max_ms = 0, jitter = 0 }\n"
          "[[program]]\nname = \"later\"\ncommand = [\"sleep\", \"1000\"]\n"
          "startsecs_ms = 0\n");
  const auto text = plain_run_until(config, " later running ", dir);
  INFO(text);
  CHECK(text.find("not shown") == std::string::npos);
  std::vector<std::string> statuses;
  for (const auto& line : lines_with(text, " first "))
    statuses.push_back(status_of(line));
  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i)
    expected.insert(expected.end(), {"starting", "backoff"});
  expected.insert(expected.end(),
                  {"starting", "running", "stopping", "stopped"});
  CHECK(statuses == expected);
}
