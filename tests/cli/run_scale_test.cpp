// `vitrine run` at scale on a 1 MiB stack (`ulimit -s 1024`, which also
// sizes every thread's stack): 100,000 configured programs that do not
// start, and 10,000 `sleep` programs that do, loaded, run and stopped with
// nothing left behind. Nothing in the path may recurse per program.
// Sanitized builds divide the counts by VITRINE_STRESS_SCALE.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "cli_driver.hpp"
#include "status.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

constexpr auto load_deadline = 300s;
constexpr auto stop_deadline = 120s;
const std::string small_stack = "ulimit -s 1024";

/// The end of vitrine's output (a crash report is there).
std::string tail_of(const std::string& path) {
  const auto text = read_file(path);
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

std::vector<vitrine::cli::status_row> rows_of(const std::string& path) {
  std::string error;
  auto rows = vitrine::cli::rows_from_json(read_file(path), error);
  REQUIRE(rows);
  return std::move(*rows);
}

}  // namespace

TEST_CASE("run loads, runs and stops 100,000 idle programs on a 1 MiB stack",
          "[cli][scale]") {
  const std::size_t count = 100'000 / stress_scale();
  temp_dir dir;
  const auto config =
      dir.write("idle.toml", sleep_programs(count, "autostart = false\n"));
  const auto output = dir.file("output");
  const auto status = dir.file("status.json");
  cli_process cli{
      {"run", config, "--plain", "--json-status", status}, output, small_stack};
  INFO(count << " programs");
  const bool up = wait_for_text(output, "supervisor main running",
                                load_deadline, cli.pid());
  INFO(tail_of(output));
  REQUIRE(up);
  CHECK(proc_limit(cli.pid(), "Max stack size").first == "1048576");
  REQUIRE(::kill(cli.pid(), SIGTERM) == 0);
  const auto code = cli.wait(stop_deadline);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  const auto rows = rows_of(status);
  CHECK(rows.size() == count);
  CHECK(std::all_of(rows.begin(), rows.end(),
                    [](const auto& row) { return row.status == "stopped"; }));
  // --plain prints transitions: these programs never ran, so they have
  // none; their final states are the JSON rows checked above.
}

namespace {

/// Raises this process's open-file hard limit (vitrine inherits it) when
/// allowed (root), and returns how many running programs it covers: a
/// machine's hard limit may be below the 20,000 + that 10,000 need.
std::size_t programs_the_fd_limit_allows() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < 65536) {
    rlimit raised{limit.rlim_cur, 65536};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_max == RLIM_INFINITY) return ~std::size_t{0};
  return (static_cast<std::size_t>(limit.rlim_max) - 200) / 3;
}

}  // namespace

TEST_CASE("run starts and stops 10,000 sleep programs on a 1 MiB stack",
          "[cli][scale]") {
  std::size_t count = 10'000 / stress_scale();
  if (const auto allowed = programs_the_fd_limit_allows(); allowed < count) {
    WARN("the open-file hard limit allows " << allowed << " programs only");
    count = allowed;
  }
  temp_dir dir;
  const auto config =
      dir.write("sleepers.toml",
                sleep_programs(count, "startsecs_ms = 0\nstdout = \"null\"\n"));
  const auto output = dir.file("output");
  const auto status = dir.file("status.json");
  cli_process cli{
      {"run", config, "--plain", "--json-status", status}, output, small_stack};
  INFO(count << " programs");
  const bool up =
      wait_for_text(output, " running pid=", load_deadline, cli.pid(), count);
  INFO(tail_of(output));
  REQUIRE(up);
  CHECK(proc_limit(cli.pid(), "Max stack size").first == "1048576");
  CHECK(read_file(output).find("warning") == std::string::npos);
  const auto programs = seen_now(descendants_named(cli.pid(), "sleep"));
  CHECK(programs.size() == count);
  REQUIRE(::kill(cli.pid(), SIGTERM) == 0);
  const auto code = cli.wait(stop_deadline);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(std::all_of(programs.begin(), programs.end(), process_left));
  const auto rows = rows_of(status);
  CHECK(rows.size() == count);
  CHECK(std::all_of(rows.begin(), rows.end(),
                    [](const auto& row) { return row.status == "stopped"; }));
}

TEST_CASE(
    "a dotted key of 50,000 parts is refused by check and by a live run's "
    "reload on a 1 MiB stack",
    "[cli][scale][reload]") {
  // toml++ overflowed the stack on it: `check` died of SIGSEGV, and so did
  // a run reloading it, its programs killed by the guard.
  std::string deep_key = "a";
  for (int part = 1; part < 50'000; ++part) deep_key += ".a";
  deep_key += " = 1\n";
  temp_dir dir;
  const std::string program =
      "[[program]]\nname = \"calm\"\ncommand = [\"sleep\", \"1000\"]\n"
      "startsecs_ms = 0\n";
  const auto deep = dir.write("deep.toml", program + deep_key);
  const auto check_output = dir.file("check-output");
  cli_process check{{"check", deep}, check_output, small_stack};
  CHECK(check.wait(stop_deadline) == std::optional<int>{1});
  const auto checked = read_file(check_output);
  INFO(checked);
  CHECK(checked.find(deep + ":5:254: syntax: nested more than 128 levels "
                            "deep") != std::string::npos);

  const auto config = dir.write("run.toml", program);
  const auto output = dir.file("output");
  const auto status = dir.file("status.json");
  cli_process cli{
      {"run", config, "--plain", "--json-status", status}, output, small_stack};
  REQUIRE(wait_for_text(output, " running pid=", load_deadline, cli.pid()));
  const auto before = descendants_named(cli.pid(), "sleep");
  REQUIRE(before.size() == 1);
  dir.write("run.toml", program + deep_key);
  REQUIRE(::kill(cli.pid(), SIGHUP) == 0);
  INFO(tail_of(output));
  CHECK(wait_for_text(output, "reload: rejected, nothing changed",
                      load_deadline, cli.pid()));
  CHECK(descendants_named(cli.pid(), "sleep") == before);
  REQUIRE(::kill(cli.pid(), SIGTERM) == 0);
  CHECK(cli.wait(stop_deadline) == std::optional<int>{0});
}
