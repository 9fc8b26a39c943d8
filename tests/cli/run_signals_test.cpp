// `vitrine run` and the signals a user may send (docs/cli.md, "Signals"):
// the ones that stop it stop every program (a shell's children included)
// and exit 0; the others are logged or ignored while the programs keep
// running; a stop signal while the config loads exits at once; programs
// start with default dispositions and nothing blocked. Real `vitrine`
// processes; what is left is checked in /proc.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_driver.hpp"
#include "status.hpp"
#include "vitrine/core/signal_names.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

constexpr auto deadline = 20s;

/// A direct child and a shell whose `sleep` is a grandchild of vitrine.
const char* const two_programs = R"(
[[program]]
name = "sleeper"
command = ["sleep", "1000"]
startsecs_ms = 0
stop_timeout_ms = 5000

[[program]]
name = "shell"
command = "sleep 1000; true"
startsecs_ms = 0
stop_timeout_ms = 5000
)";

bool wait_until(auto pred, std::chrono::milliseconds limit = deadline) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// A running `vitrine run` on two_programs, with both programs up and the
/// shell's sleep started: two `sleep` processes below vitrine.
struct running_cli {
  temp_dir dir;
  std::string output = dir.file("output");
  std::string status = dir.file("status.json");
  cli_process cli;
  std::vector<pid_t> programs;  ///< every descendant, once the sleeps run

  explicit running_cli(const std::string& config = two_programs,
                       std::size_t sleeps = 2)
      : cli({"run", dir.write("run.toml", config), "--plain", "--json-status",
             status},
            output) {
    REQUIRE(
        wait_for_text(output, "supervisor main running", deadline, cli.pid()));
    REQUIRE(wait_until([&] {
      return descendants_named(cli.pid(), "sleep").size() == sleeps;
    }));
    programs = descendants_of(cli.pid());
  }

  bool everything_gone() const {
    return wait_until([&] {
      return std::all_of(programs.begin(), programs.end(), process_gone);
    });
  }
};

std::string name_of(int sig) {
  return std::string{vitrine::core::signal_name(sig)};
}

/// The SigBlk (or other) mask of /proc/PID/status as a number.
std::uint64_t mask_of(pid_t pid, const char* field) {
  return std::strtoull(proc_status_field(pid, field).c_str(), nullptr, 16);
}

bool has_bit(std::uint64_t mask, int sig) {
  return (mask >> (sig - 1)) & 1u;
}

}  // namespace

TEST_CASE("run stops every program and exits 0 on each stop signal",
          "[cli][signals]") {
  for (const int sig : {SIGINT, SIGQUIT, SIGTERM, SIGXCPU, SIGPWR}) {
    DYNAMIC_SECTION(name_of(sig)) {
      running_cli run;
      REQUIRE(::kill(run.cli.pid(), sig) == 0);
      const auto code = run.cli.wait(deadline);
      INFO(read_file(run.output));
      REQUIRE(code.has_value());
      CHECK(*code == 0);
      CHECK(read_file(run.output)
                .find("received " + name_of(sig) +
                      ": stopping every program") != std::string::npos);
      CHECK(run.everything_gone());
      std::string error;
      const auto rows =
          vitrine::cli::rows_from_json(read_file(run.status), error);
      REQUIRE(rows);
      REQUIRE(rows->size() == 2);
      for (const auto& row : *rows) CHECK(row.status == "stopped");
    }
  }
}

TEST_CASE("run logs or ignores every other signal and keeps supervising",
          "[cli][signals]") {
  running_cli run;
  const auto before = run.programs;
  const pid_t pid = run.cli.pid();
  // Each signal is followed by a SIGUSR1 whose line proves vitrine got past
  // it (still running, not stopped: a stopped process prints nothing).
  std::size_t markers = 0;
  auto marker = [&] {
    REQUIRE(::kill(pid, SIGUSR1) == 0);
    REQUIRE(wait_for_text(run.output, "received SIGUSR1: ignored", deadline,
                          pid, ++markers));
  };
  const std::vector<std::pair<int, std::string>> logged{
      {SIGUSR2, "ignored"},   {SIGALRM, "ignored"},
      {SIGVTALRM, "ignored"}, {SIGPROF, "ignored"},
      {SIGSTKFLT, "ignored"}, {SIGIO, "ignored"},
      {SIGXFSZ, "ignored"},   {SIGTSTP, "ignored, vitrine keeps"},
      {SIGRTMIN, "ignored"},  {SIGRTMIN + 5, "ignored"},
      {SIGRTMAX, "ignored"},  {SIGCONT, "nothing to do"}};
  for (const auto& [sig, text] : logged) {
    INFO(name_of(sig));
    REQUIRE(::kill(pid, sig) == 0);
    CHECK(wait_for_text(run.output, "received " + name_of(sig) + ": " + text,
                        deadline, pid));
    marker();
  }
  for (const int sig : {SIGTTIN, SIGTTOU, SIGPIPE, SIGWINCH}) {
    INFO(name_of(sig));
    REQUIRE(::kill(pid, sig) == 0);
    marker();
  }
  // SIGSTOP cannot be caught: after SIGCONT vitrine says so and goes on.
  REQUIRE(::kill(pid, SIGSTOP) == 0);
  REQUIRE(::kill(pid, SIGCONT) == 0);
  marker();

  CHECK(descendants_of(pid) == before);
  REQUIRE(::kill(pid, SIGTERM) == 0);
  const auto code = run.cli.wait(deadline);
  INFO(read_file(run.output));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(run.everything_gone());
}

/// Sends `first`, then (once run says it is stopping, and `gap` later)
/// `second`; returns run's output once it exited 0.
std::string stop_twice(running_cli& run, int first, int second,
                       std::chrono::milliseconds gap) {
  REQUIRE(::kill(run.cli.pid(), first) == 0);
  REQUIRE(wait_for_text(run.output, "stopping every program", deadline,
                        run.cli.pid()));
  std::this_thread::sleep_for(gap);
  REQUIRE(::kill(run.cli.pid(), second) == 0);
  const auto code = run.cli.wait(deadline);
  const auto output = read_file(run.output);
  INFO(output);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  return output;
}

TEST_CASE("a second stop signal kills programs that ignore the first",
          "[cli][signals]") {
  // The shells and their sleeps ignore SIGTERM; the timeout is far away.
  // Stops go in reverse order: "stubborn" is stopping, "first" is still
  // running when the second signal kills both.
  running_cli run{R"(
[[program]]
name = "first"
command = "trap '' TERM; sleep 1000; true"
startsecs_ms = 0
stop_timeout_ms = 600000

[[program]]
name = "stubborn"
command = "trap '' TERM; sleep 1000; true"
startsecs_ms = 0
stop_timeout_ms = 600000
)",
                  2};
  // Past the window in which a repeat counts as the same request.
  const auto output = stop_twice(run, SIGINT, SIGTERM, 400ms);
  CHECK(output.find("SIGTERM again: killing every program") !=
        std::string::npos);
  // Killed as a stop, not as a crash: no backoff, no restart counted.
  for (const std::string name : {"first", "stubborn"}) {
    CHECK(output.find(name + " stopped pid=0 restarts=0") != std::string::npos);
    CHECK(output.find(name + " backoff") == std::string::npos);
  }
  CHECK(run.everything_gone());
}

TEST_CASE("a stop signal delivered twice at once is one graceful stop",
          "[cli][signals]") {
  // As timeout(1) delivers it: to vitrine, then to its process group.
  running_cli run{R"(
[[program]]
name = "polite"
command = "trap 'sleep 0.5; exit 0' TERM; sleep 1000 & wait"
startsecs_ms = 0
stop_timeout_ms = 600000
)",
                  1};
  // Two kill() calls in a row merge into one pending signal; the second
  // comes once the first was taken, well within the window.
  const auto output = stop_twice(run, SIGTERM, SIGTERM, 0ms);
  CHECK(output.find("again at once: taken as the same request") !=
        std::string::npos);
  CHECK(output.find("killing every program") == std::string::npos);
  // The program's own TERM handler ended it: exit 0, not SIGKILL.
  CHECK(output.find("polite stopped pid=0 restarts=0 last_exit=exit 0") !=
        std::string::npos);
  CHECK(run.everything_gone());
}

TEST_CASE("every thread of run blocks the signals; programs get none blocked",
          "[cli][signals]") {
  running_cli run;
  const pid_t pid = run.cli.pid();
  std::size_t threads = 0;
  for (const auto& task : std::filesystem::directory_iterator{
           "/proc/" + std::to_string(pid) + "/task"}) {
    const pid_t tid = static_cast<pid_t>(std::stol(task.path().filename()));
    const auto blocked = mask_of(tid, "SigBlk");
    INFO("thread " << tid << " SigBlk " << std::hex << blocked);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGALRM, SIGTSTP})
      CHECK(has_bit(blocked, sig));
    ++threads;
  }
  CHECK(threads > 2);  // the runtime's threads, not only main
  // `sleep` changes nothing: what it shows is what vitrine gave it.
  std::string error;
  pid_t sleeper = 0;
  REQUIRE(wait_until([&] {
    const auto rows =
        vitrine::cli::rows_from_json(read_file(run.status), error);
    if (rows && !rows->empty()) sleeper = rows->front().pid;
    return sleeper > 0;
  }));
  CHECK(proc_status_field(sleeper, "SigBlk") == "0000000000000000");
  // Ignored: nothing, whatever vitrine ignores itself (its SIGPIPE, and
  // glibc's internal signal 32 that posix_spawn left ignored in it).
  CHECK(mask_of(pid, "SigIgn") != 0);
  CHECK(mask_of(sleeper, "SigIgn") == 0);
  REQUIRE(::kill(pid, SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
}

TEST_CASE("a stop signal while a large config loads exits at once",
          "[cli][signals]") {
  // Just under the 64 MiB cap: several seconds to load, so vitrine says it
  // is still loading after one, and the signals below arrive meanwhile.
  temp_dir dir;
  std::string text;
  const std::size_t count = 750'000;
  text.reserve(count * 90);
  for (std::size_t i = 0; i < count; ++i)
    text += "[[program]]\nname = \"p" + std::to_string(i) +
            "\"\ncommand = [\"sleep\", \"1000\"]\nautostart = false\n\n";
  const auto config = dir.write("large.toml", text);
  const auto output = dir.file("output");
  cli_process cli{{"run", config, "--plain"}, output};
  REQUIRE(wait_for_text(output, "still loading", 60s, cli.pid()));
  // Other signals are answered while loading, too.
  REQUIRE(::kill(cli.pid(), SIGUSR2) == 0);
  CHECK(
      wait_for_text(output, "received SIGUSR2: ignored", deadline, cli.pid()));
  REQUIRE(::kill(cli.pid(), SIGINT) == 0);
  const auto code = cli.wait(deadline);
  INFO(read_file(output));
  REQUIRE(code.has_value());
  CHECK(*code == 128 + SIGINT);
  CHECK(read_file(output).find("received SIGINT while loading " + config +
                               ": nothing was started, exiting") !=
        std::string::npos);
}

TEST_CASE("a stop signal while programs wait out their startsecs stops them",
          "[cli][signals]") {
  // Started one after another, each `starting` for 20 s: without the stop
  // the tree would take 40 s to be up.
  temp_dir dir;
  const auto output = dir.file("output");
  cli_process cli{{"run", dir.write("slow.toml", R"(
[[program]]
name = "slow1"
command = ["sleep", "1000"]
startsecs_ms = 20000
stop_timeout_ms = 2000

[[program]]
name = "slow2"
command = ["sleep", "1000"]
startsecs_ms = 20000
stop_timeout_ms = 2000
)"),
                   "--plain"},
                  output};
  REQUIRE(wait_until(
      [&] { return descendants_named(cli.pid(), "sleep").size() == 1; }));
  const auto programs = descendants_of(cli.pid());
  const auto begin = std::chrono::steady_clock::now();
  REQUIRE(::kill(cli.pid(), SIGINT) == 0);
  const auto code = cli.wait(deadline);
  const auto took = std::chrono::steady_clock::now() - begin;
  INFO(read_file(output));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(took < 10s);  // the stop timeout, not the 40 s start
  CHECK(std::all_of(programs.begin(), programs.end(), process_gone));
  // slow2 was never started.
  CHECK(read_file(output).find("slow2 starting") == std::string::npos);
}

TEST_CASE("no program starts after the stop signal's note during a start",
          "[cli][signals]") {
  // 300 programs started one after another (5 ms each in `starting`), so
  // the signal comes in the middle of the start. The note is printed when
  // the signal is read; from then on no spawn may begin (docs/cli.md): at
  // most the one already under way starts later.
  const std::string config = sleep_programs(300, "startsecs_ms = 5\n");
  temp_dir dir;
  const auto output = dir.file("output");
  cli_process cli{{"run", dir.write("many.toml", config), "--plain"}, output};
  REQUIRE(wait_until(
      [&] { return descendants_named(cli.pid(), "sleep").size() >= 20; }));
  REQUIRE(::kill(cli.pid(), SIGINT) == 0);
  const auto code = cli.wait(deadline);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  // "HH:MM:SS.mmm p12 starting pid=...", "HH:MM:SS.mmm received SIGINT: ..."
  const auto text = read_file(output);
  INFO(text);
  std::istringstream lines{text};
  std::string line, noted_at;
  int later_starts = 0;
  while (std::getline(lines, line)) {
    if (line.size() < 13) continue;
    const auto at = line.substr(0, 12);
    if (noted_at.empty() && line.find(" received SIGINT") != line.npos)
      noted_at = at;
    else if (!noted_at.empty() && line.find(" starting pid=") != line.npos &&
             at > noted_at)
      ++later_starts;
  }
  REQUIRE_FALSE(noted_at.empty());
  CHECK(later_starts <= 1);
}
