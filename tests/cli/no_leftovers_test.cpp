// `vitrine run` leaves nothing behind: after a SIGKILL or a normal exit no
// descendant of any program survives (shell commands, setsid daemons,
// double forks), and a restarting daemonizer leaves no zombies under it.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "cli_driver.hpp"
#include "status.hpp"
#include "support/leftovers.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

bool have_cgroup_v2() {
  return ::access("/sys/fs/cgroup/unified/cgroup.procs", W_OK) == 0 ||
         ::access("/sys/fs/cgroup/cgroup.kill", F_OK) == 0;
}

/// Three programs: a shell command, a shell that starts a setsid daemon,
/// and a shell whose subshell double-forks a setsid daemon. 8 processes
/// carry `marker` in their command line.
std::string escaping_config(const std::string& marker) {
  const std::string sleep = "sleep " + marker;
  return "[[program]]\nname = \"shell\"\ncommand = \"" + sleep +
         "; true\"\nstartsecs_ms = 0\n\n"
         "[[program]]\nname = \"daemon\"\ncommand = \"setsid " +
         sleep + " & " + sleep +
         "\"\nstartsecs_ms = 0\n\n"
         "[[program]]\nname = \"doublefork\"\ncommand = \"(setsid " +
         sleep + " &); " + sleep + "\"\nstartsecs_ms = 0\n";
}

std::size_t zombie_children(pid_t parent) {
  std::size_t n = 0;
  for (const auto& c : vitrine::os::children_of(parent))
    if (vitrine::os::is_zombie(c)) ++n;
  return n;
}

unsigned restarts_in(const std::string& status_path) {
  std::string error;
  const auto rows = vitrine::cli::rows_from_json(read_file(status_path), error);
  return rows && !rows->empty() ? (*rows)[0].restarts : 0;
}

struct cleanup {
  std::string marker;
  ~cleanup() { kill_all_with(marker); }
};

}  // namespace

TEST_CASE("nothing survives a SIGKILLed or a stopped `vitrine run`",
          "[cli][orphans]") {
  const bool cgroup = have_cgroup_v2();
  for (const int sig : {SIGKILL, SIGTERM}) {
    DYNAMIC_SECTION("after " << (sig == SIGKILL ? "SIGKILL" : "SIGTERM")) {
      temp_dir dir;
      const std::string marker = "1000." + unique_token();
      cleanup guard{marker};
      const auto config = dir.write("run.toml", escaping_config(marker));
      cli_process cli{{"run", config, "--plain"}, dir.file("output")};
      // Without a cgroup only the shell's group can be found after a kill.
      const std::size_t expected = 8;
      INFO(read_file(dir.file("output")));
      REQUIRE(at_least(marker, expected, 20'000ms));
      const auto begin = clock_type::now();
      REQUIRE(::kill(cli.pid(), sig) == 0);
      const auto left = time_until_none(marker, 5'000ms);
      const auto took = clock_type::now() - begin;
      INFO("still alive: " << processes_with(marker).size());
      if (cgroup || sig == SIGTERM) {
        REQUIRE(left.count() >= 0);
        const double ms =
            std::chrono::duration<double, std::milli>(took).count();
        WARN("`vitrine run` descendants gone "
             << ms << " ms after " << (sig == SIGKILL ? "SIGKILL" : "SIGTERM"));
      }
      const auto code = cli.wait(10s);
      REQUIRE(code);
      if (sig == SIGTERM) CHECK(*code == 0);
    }
  }
}

TEST_CASE("a restarting daemonizer leaves no zombies under `vitrine run`",
          "[cli][orphans][reaper]") {
  temp_dir dir;
  const std::string marker = "1000." + unique_token();
  cleanup guard{marker};
  const auto config =
      dir.write("run.toml",
                "[supervisor]\nintensity = 1000000\nperiod_ms = 1000\n\n"
                "[[program]]\nname = \"daemonizer\"\ncommand = \"sleep " +
                    marker +
                    " & exit 0\"\nstartsecs_ms = 0\n"
                    "backoff = { min_ms = 5, max_ms = 5, jitter = 0.0 }\n"
                    "restart_limit = { interval_ms = 0 }\n");
  const auto status = dir.file("status.json");
  cli_process cli{{"run", config, "--plain", "--json-status", status},
                  dir.file("output")};
  // Sample the zombies under vitrine while it churns.
  std::size_t most = 0, samples = 0;
  const auto deadline = clock_type::now() + 30s;
  while (restarts_in(status) < 100 && clock_type::now() < deadline) {
    most = std::max(most, zombie_children(cli.pid()));
    ++samples;
    std::this_thread::sleep_for(10ms);
  }
  const unsigned restarts = restarts_in(status);
  INFO(read_file(dir.file("output")));
  REQUIRE(restarts >= 100);
  // Transient zombies exist for the instant between an exit and its reap;
  // without the reaper they pile up (one per restart).
  CHECK(most < 5);
  WARN("most zombies seen under vitrine in "
       << samples << " samples over " << restarts << " restarts: " << most);
  REQUIRE(::kill(cli.pid(), SIGTERM) == 0);
  const auto code = cli.wait(10s);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(time_until_none(marker, 5'000ms).count() >= 0);
}
