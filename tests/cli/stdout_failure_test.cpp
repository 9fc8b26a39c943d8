// Every command that prints to stdout says so when a write to it fails (a
// full disk; /dev/full here) and exits 1, as `watch` did already: an
// outside tester found status, status --json, ctl restart and check
// exiting 0 with their output lost (cli/stdout_check.hpp); logs did too.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cli_driver.hpp"
#include "live_run.hpp"

using namespace vitrine::test;

namespace {

/// `vitrine ARGS` with stdout on /dev/full: its exit code and stderr.
cli_result to_full_disk(const temp_dir& dir, const std::string& args) {
  const auto err = dir.file("stderr");
  const std::string command =
      VITRINE_CLI_PATH " " + args + " > /dev/full 2> " + err;
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  return {WEXITSTATUS(status), read_file(err)};
}

}  // namespace

TEST_CASE("a write to stdout that fails is an error, exit 1", "[cli][output]") {
  live_run run{demo_config + R"(
[[program]]
name = "talker"
command = "echo hello; exec sleep 1000"
stdout = { capture = "talker.log" }
)"};
  run.wait_status("api", "running");
  REQUIRE(wait_for_text(run.dir().file("talker.log"), "hello\n",
                        std::chrono::seconds{20}));
  const auto config = run.dir().write("ok.toml", R"([[program]]
name = "a"
command = ["sleep", "1"]
)");
  const std::string state = " --state-dir " + run.state();
  const std::vector<std::pair<std::string, std::string>> commands{
      {"status", "status" + state},       {"status", "status --json" + state},
      {"ctl", "ctl restart api" + state}, {"check", "check " + config},
      {"logs", "logs talker" + state},
  };
  for (const auto& [name, args] : commands) {
    const auto result = to_full_disk(run.dir(), args);
    INFO(args << ": " << result.output);
    CHECK(result.code == 1);
    CHECK(result.output ==
          "vitrine: " + name + ": stdout: No space left on device\n");
  }
  // The same command to a working stdout succeeds.
  const auto fine = run.cli({"status"});
  CHECK(fine.code == 0);
}

TEST_CASE("--help and --version to a stdout that fails exit 1",
          "[cli][output]") {
  // An outside tester: they exited 0, their text lost.
  temp_dir dir;
  for (const auto& [flag, args] :
       std::vector<std::pair<std::string, std::string>>{
           {"--help", "--help"},
           {"--version", "--version"},
           {"--help", "status --help"},
           {"--help", "run --help"}}) {
    const auto result = to_full_disk(dir, args);
    INFO(args << ": " << result.output);
    CHECK(result.code == 1);
    CHECK(result.output ==
          "vitrine: " + flag + ": stdout: No space left on device\n");
  }
}
