// Commands to a child while its supervisor starts every child in spec
// order and has not reached it yet (a user's `ctl stop` during a run's
// first start, found by a stranger: the start undid the stop). The child
// waits for its turn as in a group restart (otp_order_test.cpp): a stop
// keeps it stopped, a start or restart is carried out in its turn.
#include <catch2/catch.hpp>

#include <future>

#include "otp_support.hpp"

using namespace vitrine;
using namespace vitrine::test;

namespace {

/// Runs, but is `running` (readiness on fd 3) only once `gate` exists:
/// its supervisor's start of the children after it waits until then.
process_spec gated(const std::string& name, const std::string& gate) {
  auto spec = sh(name, "while [ ! -e " + gate +
                           " ]; do sleep 0.01; done; echo >&3; exec 3>&-; "
                           "sleep 1000 & wait");
  spec.launch.notify_fd = 3;
  spec.startsecs = 30'000ms;
  return spec;
}

}  // namespace

TEST_CASE(
    "a stop command to a child its supervisor's start has not reached "
    "keeps it stopped; a start or restart waits for its turn",
    "[otp][order]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  const std::string command = GENERATE("stop", "start", "restart");
  INFO(command << " b");
  const auto gate = log.file("gate");
  // supervise() returns once the tree started: from another thread.
  auto started = std::async(std::launch::async, [&] {
    return rt.supervise(
        tree("seq", restart_strategy::one_for_one,
             {gated("a", gate), log.child("b"), log.child("c")}));
  });
  process_handle a, b;
  REQUIRE(eventually([&] {
    a = rt.find("a");
    b = rt.find("b");
    return a && b;
  }));
  REQUIRE(reaches(a, process_status::starting));
  const auto applied = command == "stop"    ? b.stop()
                       : command == "start" ? b.start()
                                            : b.restart();
  if (command == "stop") {
    REQUIRE(applied.wait_until(in(patience)));  // applied at once
  } else {
    // Applied by the start in b's turn, not before: a wait on it ended at
    // once with b still stopped (`ctl start` then said it failed).
    CHECK_FALSE(applied.wait_until(in(300ms)));
  }
  CHECK(b.read()->status == process_status::stopped);
  log.touch("gate");
  if (command != "stop") {
    REQUIRE(applied.wait_until(in(patience)));
    CHECK(b.read()->applied_command >= applied.ticket());
  }
  const auto sup = started.get();
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  if (command == "stop") {
    // Before: b started in its turn, the stop undone.
    REQUIRE(log.holds(1));
    CHECK(log.lines() == strings{"start c"});
    CHECK(b.read()->status == process_status::stopped);
  } else {
    // Before: b ran at once, ahead of a, which it may depend on.
    REQUIRE(log.holds(2));
    CHECK(log.lines() == strings{"start b", "start c"});
    CHECK(b.read()->status == process_status::running);
    CHECK(last_time_of(b, process_status::starting) >=
          last_time_of(a, process_status::running));
  }
  rt.shutdown();
}

TEST_CASE(
    "a start command to a nested supervisor its parent's start has not "
    "reached is applied in its turn",
    "[otp][order]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  const auto gate = log.file("gate");
  auto started = std::async(std::launch::async, [&] {
    return rt.supervise(
        tree("seq", restart_strategy::one_for_one,
             {gated("a", gate),
              tree("inner", restart_strategy::one_for_one, {log.child("b")})}));
  });
  process_handle a;
  supervisor_handle inner;
  REQUIRE(eventually([&] {
    a = rt.find("a");
    inner = rt.find_supervisor("inner");
    return a && inner;
  }));
  REQUIRE(reaches(a, process_status::starting));
  const auto applied = inner.start();
  REQUIRE(applied);
  // Held: applied by the start in its turn, which the gate holds back.
  CHECK_FALSE(applied.wait_until(in(300ms)));
  CHECK(inner.read()->status != supervisor_status::running);
  log.touch("gate");
  REQUIRE(applied.wait_until(in(patience)));
  REQUIRE(
      started.get().wait_for_status(supervisor_status::running, in(patience)));
  CHECK(inner.read()->status == supervisor_status::running);
  REQUIRE(log.holds(1));
  CHECK(log.lines() == strings{"start b"});
  rt.shutdown();
}
