// Supervision settings of the config (restart_limit, the top supervisor's
// default intensity) and what they mean for a fleet run by the library the
// way `vitrine run` runs it.
#include <catch2/catch.hpp>

#include <map>
#include <thread>

#include "cli_driver.hpp"
#include "config.hpp"
#include "program_keys.hpp"
#include "vitrine/runtime.hpp"

using namespace vitrine;
using namespace vitrine::cli;
using namespace std::chrono_literals;
using core::process_status;
using core::supervisor_status;

namespace {

parse_result parse(const std::string& text, bool semantic = false) {
  parse_options options;
  options.semantic_checks = semantic;
  return parse_config(text, "t.toml", options);
}

std::string all(const parse_result& r) {
  std::string text;
  for (const auto& d : r.problems) text += describe(d) + "\n";
  return text;
}

std::string programs(std::size_t n, const std::string& extra = "") {
  std::string text;
  for (std::size_t i = 0; i < n; ++i)
    text += "[[program]]\nname = \"p" + std::to_string(i) +
            "\"\ncommand = [\"sleep\", \"1000\"]\nstartsecs_ms = 0\n" + extra;
  return text;
}

}  // namespace

TEST_CASE("restart_limit is read into the spec and checked", "[cli][config]") {
  const auto r = parse(
      "[[program]]\nname = \"a\"\ncommand = \"true\"\n"
      "restart_limit = { burst = 7, interval_ms = 2500 }\n");
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& p = std::get<process_spec>(r.value.tree.children.at(0));
  CHECK(p.restart_limit.burst == 7);
  CHECK(p.restart_limit.interval == 2500ms);

  const auto bad = parse(
      "[[program]]\nname = \"a\"\ncommand = \"true\"\n"
      "restart_limit = { burst = 0, tries = 2 }\n");
  CHECK(all(bad).find("restart_limit.burst") != std::string::npos);
  CHECK(all(bad).find("tries") != std::string::npos);
}

TEST_CASE(
    "the top supervisor's default intensity cannot be tripped by one "
    "program; explicit keys win",
    "[cli][config][intensity]") {
  SECTION("defaults: the sum of the bursts plus the largest, per interval") {
    const auto r = parse(programs(3));
    REQUIRE(r.ok());
    CHECK(r.value.tree.intensity == 3 * 5 + 5);
    CHECK(r.value.tree.period == 10'000ms);
  }
  SECTION("per-program limits: the shortest interval") {
    const auto r = parse(
        programs(2, "restart_limit = { burst = 2, interval_ms = 4000 }\n"));
    REQUIRE(r.ok());
    CHECK(r.value.tree.intensity == 2 + 2 + 2);
    CHECK(r.value.tree.period == 4000ms);
  }
  SECTION(
      "[supervisor] intensity and period_ms as written (OTP's escalation)") {
    const auto r =
        parse("[supervisor]\nintensity = 1\nperiod_ms = 5000\n" + programs(3));
    REQUIRE(r.ok());
    CHECK(r.value.tree.intensity == 1);
    CHECK(r.value.tree.period == 5000ms);
  }
  SECTION("groups keep the library default") {
    const auto r = parse(
        "[[group]]\nname = \"g\"\n[[group.program]]\nname = \"x\"\n"
        "command = \"true\"\n");
    REQUIRE(r.ok());
    CHECK(std::get<supervisor_spec>(r.value.tree.children.at(0)).intensity ==
          3);
  }
  SECTION("a program with no limit: the most, that it cannot trip") {
    const auto r = parse(programs(2) +
                         "[[program]]\nname = \"forever\"\ncommand = \"true\"\n"
                         "restart_limit = { burst = 5, interval_ms = 0 }\n");
    REQUIRE(r.ok());
    CHECK(r.value.tree.intensity == 1'000'000);
    CHECK(r.value.tree.period == 10'000ms);
  }
}

TEST_CASE(
    "1,000 programs under the CLI defaults, one of them flapping: it "
    "fails alone and the 999 others keep their pids",
    "[cli][fleet]") {
  const auto r =
      parse(programs(999) +
                "[[program]]\nname = \"flappy\"\n"
                "command = [\"/bin/sh\", \"-c\", \"sleep 0.05; exit 1\"]\n"
                "startsecs_ms = 0\n",
            true);
  INFO(all(r));
  REQUIRE(r.ok());
  std::vector<pid_t> pids;
  {
    runtime_options options;
    options.root_intensity = 0;  // as `vitrine run`
    runtime rt{options};
    auto top = rt.supervise(r.value.tree);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    REQUIRE(top.wait_for_status(supervisor_status::running, deadline));
    std::map<std::string, pid_t> before;
    rt.for_each([&](const process_handle& h) {
      if (h.name() != "flappy") before[std::string{h.name()}] = h.read()->pid;
    });
    REQUIRE(before.size() == 999);
    auto flappy = rt.find("flappy");
    REQUIRE(flappy.wait_for_status(process_status::failed, deadline));
    CHECK(flappy.read()->restart_count == 5);
    // A stop applied after every report the top got finds it never failed.
    auto s = top.read();
    CHECK(s->status == supervisor_status::running);
    CHECK(s->restarts == 5);
    CHECK_FALSE(s->last_failure);
    std::size_t same = 0;
    rt.for_each([&](const process_handle& h) {
      auto it = before.find(std::string{h.name()});
      if (it == before.end()) return;
      const auto state = h.read();
      if (state->status == process_status::running && state->pid == it->second)
        ++same;
      pids.push_back(state->pid);
    });
    CHECK(same == 999);
  }
  for (pid_t pid : pids) CHECK(vitrine::test::process_gone(pid));
}

TEST_CASE("a group's restart type is read into its spec; the top has none",
          "[cli][config][restart_type]") {
  const auto r = parse(
      "[[group]]\nname = \"g\"\nrestart = \"temporary\"\n"
      "[[group.program]]\nname = \"x\"\ncommand = \"true\"\n"
      "[[group]]\nname = \"h\"\n"
      "[[group.program]]\nname = \"y\"\ncommand = \"true\"\n");
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(std::get<supervisor_spec>(r.value.tree.children.at(0)).restart ==
        restart_policy::temporary);
  CHECK(std::get<supervisor_spec>(r.value.tree.children.at(1)).restart ==
        restart_policy::permanent);

  const auto bad = parse(
      "[[group]]\nname = \"g\"\nrestart = \"sometimes\"\n"
      "[[group.program]]\nname = \"x\"\ncommand = \"true\"\n");
  CHECK(all(bad).find("group[g].restart") != std::string::npos);
  // The top supervisor is the application: nothing restarts it.
  const auto top = parse("[supervisor]\nrestart = \"temporary\"\n");
  CHECK(all(top).find("restart") != std::string::npos);
}
