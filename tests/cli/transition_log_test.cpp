// transition_log (cli/transition_log.hpp) against a real runtime: every
// transition once, in order, and a count of those a history no longer
// holds when the log looked too late.
#include "transition_log.hpp"

#include <catch2/catch.hpp>

#include <sstream>

#include "vitrine/runtime.hpp"

using namespace vitrine;
using namespace vitrine::cli;
using namespace std::chrono_literals;

namespace {

process_spec crash_loop(const std::string& name, unsigned burst) {
  process_spec spec;
  spec.name = name;
  spec.launch.argv = {"/bin/sh", "-c", "exit 1"};
  spec.startsecs = 0ms;
  spec.backoff.min = spec.backoff.max = 0ms;
  spec.backoff.jitter = 0;
  spec.restart_limit.burst = burst;
  spec.restart_limit.interval = 600'000ms;
  return spec;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("a log that looks late says how many transitions it missed",
          "[cli][plain]") {
  runtime_options options;
  options.root_intensity = 1000;  // the program's own limit ends the loop
  runtime rt{options};
  // 20 restarts: running and backoff each time, then failed (41 states).
  const auto h = rt.supervise(crash_loop("late", 20));
  REQUIRE(h.wait_for_status(core::process_status::failed,
                            std::chrono::steady_clock::now() + 30s));
  const auto version = h.read()->version;
  REQUIRE(version > core::transition_history::capacity);
  transition_log log;
  log.add(h, clock_pair::now());
  const auto lines = lines_of(log.take());
  INFO(lines.size());
  // The note, then the 8 kept transitions; each ends in "failed".
  REQUIRE(lines.size() == 1 + core::transition_history::capacity);
  CHECK(lines[0].find(
            " late: " +
            std::to_string(version - core::transition_history::capacity) +
            " transitions not shown (more than the 8 kept") !=
        std::string::npos);
  CHECK(lines.back().find(" late failed pid=0 restarts=20 last_exit=exit 1") !=
        std::string::npos);
  // Looking again adds nothing: each transition is printed once.
  log.add(h, clock_pair::now());
  CHECK(log.take().empty());
  rt.shutdown();
}

TEST_CASE("a log that keeps up prints each transition once, in order",
          "[cli][plain]") {
  runtime rt;
  const auto h = rt.supervise(crash_loop("looped", 3));
  transition_log log;
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  // Look after every new state (a waiter on the version, as fast as can be).
  std::uint64_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    h.wait_for_version_after(seen, deadline);
    seen = h.read()->version;
    log.add(h, clock_pair::now());
    text += log.take();
    if (h.read()->status == core::process_status::failed) break;
  }
  // The state read just above may be newer than the history log.add saw
  // (it turned `failed` in between): one more look takes what is left.
  log.add(h, clock_pair::now());
  text += log.take();
  INFO(text);
  const auto lines = lines_of(text);
  std::vector<std::string> statuses;
  for (const auto& line : lines) {
    std::istringstream in{line};
    std::string clock, name, status;
    in >> clock >> name >> status;
    statuses.push_back(status);
  }
  // A publish that changes nothing shown (a restart count alone would)
  // is not a line of its own.
  CHECK(statuses == std::vector<std::string>{"running", "backoff", "running",
                                             "backoff", "running", "backoff",
                                             "running", "failed"});
  CHECK(text.find("not shown") == std::string::npos);
  rt.shutdown();
}

TEST_CASE(
    "a supervisor's lines: children added are no transitions, and those "
    "a late look missed are counted",
    "[cli][plain]") {
  runtime rt;
  const auto root = rt.root();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  REQUIRE(root.wait_for_status(core::supervisor_status::running, deadline));
  transition_log log;
  log.add(root, clock_pair::now());
  CHECK(lines_of(log.take()).size() == 2);  // starting, running
  for (int i = 0; i < 20; ++i) {
    process_spec spec;
    spec.name = "sleeper-" + std::to_string(i);
    spec.launch.argv = {"/bin/sleep", "1000"};
    rt.supervise(spec);
  }
  REQUIRE(root.read()->child_count == 20);
  log.add(root, clock_pair::now());
  CHECK(log.take().empty());
  // Each start() of a running supervisor is two transitions (starting,
  // running): 20 of them, 4 more than its history keeps.
  for (int i = 0; i < 10; ++i)
    REQUIRE(root.start().wait_for_status(core::supervisor_status::running,
                                         deadline));
  log.add(root, clock_pair::now());
  const auto lines = lines_of(log.take());
  REQUIRE(lines.size() == 1 + core::supervisor_history::capacity);
  CHECK(lines[0].find(" supervisor root: 4 transitions not shown (more than "
                      "the 16 kept") != std::string::npos);
  CHECK(lines.back().find(" supervisor root running restarts=0") !=
        std::string::npos);
  rt.shutdown();
}
