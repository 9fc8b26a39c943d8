// `vitrine run` when its top supervisor fails: everything stops, the run
// exits with exit_top_supervisor_failed and names the child and its exit;
// the status file shows the supervisors.
#include <catch2/catch.hpp>

#include "cli_driver.hpp"
#include "commands.hpp"
#include "status.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

TEST_CASE(
    "a failed top supervisor stops everything and ends the run with "
    "its own exit status and a message naming the child",
    "[cli][run][failure]") {
  temp_dir dir;
  const auto pid_file = dir.file("bystander.pid");
  const auto config = dir.write("fragile.toml", R"(
[supervisor]
name = "fragile"
intensity = 1
period_ms = 30000

[[program]]
name = "bystander"
command = "echo $$ > )" + pid_file + R"(; exec sleep 1000"
startsecs_ms = 0

[[program]]
name = "crashy"
command = "sleep 0.1; exit 4"
startsecs_ms = 0
backoff = { min_ms = 10, jitter = 0.0 }
)");
  const auto status = dir.file("status.json");
  const auto result =
      run_cli({"run", "--plain", "--json-status", status, config});
  INFO(result.output);
  CHECK(result.code == vitrine::cli::exit_top_supervisor_failed);
  CHECK(result.output.find(
            "vitrine: supervisor 'fragile' failed: child 'crashy' (exit 4): "
            "restarting it would make 2 restarts within 30000 ms, above "
            "intensity 1") != std::string::npos);
  const pid_t bystander = std::stoi(read_file(pid_file));
  CHECK(process_gone(bystander));
  // The --plain log announces each failure once, with its reason: the
  // root's shutdown of the failed tree republishes nothing.
  const auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = result.output.find(needle); at != std::string::npos;
         at = result.output.find(needle, at + 1))
      ++n;
    return n;
  };
  CHECK(count("supervisor fragile failed restarts=1 reason=\"child "
              "'crashy' (exit 4): restarting it would make 2 restarts "
              "within 30000 ms, above intensity 1\"") == 1);
  CHECK(count("supervisor fragile failed") == 1);
  CHECK(count("supervisor fragile shutting_down") == 1);
  CHECK(count("supervisor root failed") == 1);

  std::string error;
  const auto sups =
      vitrine::cli::supervisors_from_json(read_file(status), error);
  INFO(error);
  REQUIRE(sups);
  bool found = false;
  for (const auto& s : *sups) {
    if (s.name != "fragile") continue;
    found = true;
    CHECK(s.status == "failed");
    CHECK(s.failed_child == "crashy");
    CHECK(s.failed_exit == "exit 4");
    CHECK(s.failed_restarts == 2);
  }
  CHECK(found);
  const auto rows = vitrine::cli::rows_from_json(read_file(status), error);
  REQUIRE(rows);
  for (const auto& row : *rows) CHECK(row.pid == 0);

  const auto shown = run_cli({"status", "--file", status});
  CHECK(shown.output.find("supervisor fragile: failed") != std::string::npos);
}
