// Found while sizing the chaos run: a one_for_all (or rest_for_one)
// supervisor acted on exit reports that a restart it had already made
// answered. OTP ignores an 'EXIT' from a pid that is no longer the child's;
// vitrine's child_event now carries the child's state version, and the
// supervisor drops reports not newer than the child's last start.
#include <fstream>
#include <thread>

#include "test_support.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_state;
using core::process_status;
using core::supervisor_status;

namespace {

/// Polls `value()` until it has not changed for `quiet` (or `limit` passed);
/// returns the last value. Only used to let a backlog drain: stopping too
/// early can hide the bug, never invent it.
std::uint64_t settled(const std::function<std::uint64_t()>& value, ms quiet,
                      ms limit) {
  const auto deadline = in(limit);
  auto last = value();
  auto since = clock::now();
  while (clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    const auto now = value();
    if (now != last) {
      last = now;
      since = clock::now();
    } else if (clock::now() - since >= quiet) {
      break;
    }
  }
  return last;
}

}  // namespace

// Regression (supervisor_actor.cpp, on_child_event): two children of a
// one_for_all supervisor that crash on every start send two reports per restart
// cycle, and each report is handled as a fresh exit after the cycle that
// already restarted both: the queue of stale reports grows by one per cycle.
// Once the children are healthy again, the supervisor keeps restarting the
// whole group (its healthy sleeper included) until the backlog is drained,
// and shutdown waits behind it. Correct (OTP): at most the restarts for
// the runs that were already under way when the children got healthy.
TEST_CASE(
    "a one_for_all supervisor stops restarting its children once they are "
    "healthy, instead of replaying stale exit reports",
    "[reliability][supervisor]") {
  runtime_fixture f;
  temp_dir dir;
  const auto healthy = dir.file("healthy");
  auto crasher = [&](std::string name) {
    auto spec = sh(std::move(name),
                   "[ -e " + healthy + " ] && exec sleep 1000; exit 1");
    spec.backoff.min = 1ms;
    spec.backoff.max = 1ms;
    return spec;
  };
  supervisor_spec tree;
  tree.name = "pair";
  tree.strategy = restart_strategy::one_for_all;
  tree.intensity = 1'000'000;
  tree.period = 1000ms;
  tree.children = {crasher("pair-a"), crasher("pair-b"),
                   sh("pair-sleeper", "exec sleep 1000")};
  auto sup = f.rt.supervise(tree);
  REQUIRE(eventually([&] { return sup.read()->restarts >= 40; }));

  std::ofstream{healthy} << "1\n";
  const auto at_health = sup.read()->restarts;
  auto sleeper = f.rt.find("pair-sleeper");
  const auto restarts = [&] { return std::uint64_t{sup.read()->restarts}; };
  const auto after = settled(restarts, 1500ms, patience);
  for (const char* name : {"pair-a", "pair-b", "pair-sleeper"})
    CHECK(reaches(f.rt.find(name), process_status::running));
  INFO("restarts when the children became healthy: "
       << at_health << ", once settled: " << after << "; the sleeper ran "
       << sleeper.read()->version << " versions");
  // The runs under way at that moment may still crash once each.
  CHECK(after - at_health <= 4);
}
