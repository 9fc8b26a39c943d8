// Waiting for a status held only briefly: wait_for_status() counts a
// transition to it since the call even when a newer state replaced it
// before the waiter woke. An outside tester's finding: a supervisor's
// `failed`, restarted at once by its parent, was missed in 5 of 5 rounds.
#include <csignal>
#include <thread>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::supervisor_status;

TEST_CASE_METHOD(runtime_fixture,
                 "wait_for_status sees a supervisor's failure though its "
                 "parent restarted it before the waiter woke",
                 "[handle][wait]") {
  supervisor_spec tree;
  tree.name = "tree";
  tree.intensity = 0;  // the first crash fails it; the root restarts it
  tree.period = 10s;
  tree.children = {sh("child", "exec sleep 60")};
  const auto sup = rt.supervise(tree);
  for (int round = 0; round < 5; ++round) {
    INFO("round " << round);
    REQUIRE(reaches(sup, supervisor_status::running));
    const auto child = rt.find("child");
    REQUIRE(reaches(child, process_status::running));
    bool seen = false;
    std::thread waiter{[&] {
      seen = sup.wait_for_status(supervisor_status::failed, in(5000ms));
    }};
    std::this_thread::sleep_for(50ms);  // asleep on the futex by now
    REQUIRE(::kill(child.read()->pid, SIGKILL) == 0);
    waiter.join();
    CHECK(seen);
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "wait_for_status sees a process's backoff though it was "
                 "restarted at once",
                 "[handle][wait]") {
  auto spec = sh("flap", "exec sleep 60");
  spec.backoff.min = spec.backoff.max = 0ms;
  const auto h = rt.supervise(spec);
  for (int round = 0; round < 5; ++round) {
    INFO("round " << round);
    REQUIRE(reaches(h, process_status::running));
    bool seen = false;
    std::thread waiter{
        [&] { seen = h.wait_for_status(process_status::backoff, in(5000ms)); }};
    std::this_thread::sleep_for(50ms);
    REQUIRE(::kill(h.read()->pid, SIGKILL) == 0);
    waiter.join();
    CHECK(seen);
  }
  // A status reached before the call is not counted: the history holds
  // backoffs from the rounds above, and none follows.
  REQUIRE(reaches(h, process_status::running));
  CHECK_FALSE(h.wait_for_status(process_status::backoff, in(200ms)));
}
