// OTP conformance: a nested supervisor's restart type. Only a permanent
// child supervisor is restarted after it failed; a transient one (OTP: the
// supervisor ended with reason `shutdown`, a normal exit) and a temporary
// one stay failed, count nothing toward the parent's intensity, and leave
// their siblings alone. A start command brings them back. A process started
// by hand under a stopped supervisor is not restarted either.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <thread>

#include "otp_support.hpp"

using namespace vitrine;
using namespace vitrine::test;

TEST_CASE(
    "a temporary or transient child supervisor that fails is not "
    "restarted and not counted; a start command restarts it",
    "[otp][escalation][restart_type]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  auto type = restart_policy::temporary;
  SECTION("temporary") {}
  SECTION("transient") {
    type = restart_policy::transient;
  }
  auto mid = tree("mid", restart_strategy::one_for_one, {log.child("leaf")});
  mid.intensity = 0;
  mid.restart = type;
  // Intensity 0 and one_for_all: a restart the top counted would fail it,
  // and one it made would restart the sibling.
  auto top =
      tree("top", restart_strategy::one_for_all, {mid, log.child("sibling")});
  top.intensity = 0;
  auto sup = rt.supervise(top);
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(2));
  auto mid_h = rt.find_supervisor("mid");
  const pid_t sibling = rt.find("sibling").read()->pid;

  REQUIRE(rt.find("leaf").signal(SIGKILL));
  REQUIRE(mid_h.wait_for_status(supervisor_status::failed, in(patience)));
  REQUIRE(mid_h.read()->last_failure);
  // Started again by hand: its report to the top went out before it took
  // this command, and the start takes a spawn and a readiness line.
  REQUIRE(
      mid_h.start().wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(3));
  CHECK(log.lines_after(2) == strings{"start leaf"});
  auto s = sup.read();
  CHECK(s->status == supervisor_status::running);
  CHECK(s->restarts == 0);
  CHECK_FALSE(s->last_failure);
  CHECK(rt.find("sibling").read()->pid == sibling);
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
  CHECK_FALSE(sup.read()->last_failure);
  CHECK(all_gone({sibling}));
}

TEST_CASE("a permanent child supervisor that fails is restarted and counted",
          "[otp][escalation][restart_type]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  auto mid = tree("mid", restart_strategy::one_for_one, {log.child("leaf")});
  mid.intensity = 0;
  REQUIRE(mid.restart == restart_policy::permanent);  // the default
  auto sup = rt.supervise(
      tree("top", restart_strategy::one_for_all, {mid, log.child("sibling")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(2));
  REQUIRE(rt.find("leaf").signal(SIGKILL));
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 1;
      },
      in(patience)));
  REQUIRE(log.holds(2 + 3));
  CHECK(log.lines_after(2) ==
        strings{"stop sibling", "start leaf", "start sibling"});
}

TEST_CASE("a supervisor's restart type is validated",
          "[otp][restart_type][validation]") {
  supervisor_spec spec;
  spec.name = "s";
  spec.restart = restart_policy::temporary;
  CHECK(validate(spec).empty());
  spec.restart = static_cast<restart_policy>(7);
  const auto problems = validate(spec);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].field == "s.restart");
}

TEST_CASE(
    "a temporary child that a sibling's one_for_all or rest_for_one restart "
    "stops is not started again",
    "[otp][restart_type][one_for_all][rest_for_one]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  auto temporary = [&](const char* name) {
    auto spec = log.child(name);
    spec.restart = restart_policy::temporary;
    return spec;
  };
  auto strategy = restart_strategy::one_for_all;
  strings expected{"stop c", "stop a", "start b"};
  SECTION("one_for_all") {}
  SECTION("rest_for_one") {
    strategy = restart_strategy::rest_for_one;
    expected = {"stop c", "start b"};
  }
  auto sup = rt.supervise(tree(
      "mixed", strategy, {temporary("a"), log.child("b"), temporary("c")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(3));
  const pid_t a_pid = rt.find("a").read()->pid;

  REQUIRE(rt.find("b").signal(SIGKILL));
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 1;
      },
      in(patience)));
  REQUIRE(log.holds(3 + expected.size()));
  CHECK(log.lines_after(3) == expected);
  CHECK(rt.find("b").read()->status == process_status::running);
  CHECK(rt.find("c").read()->status == process_status::stopped);
  if (strategy == restart_strategy::one_for_all)
    CHECK(rt.find("a").read()->status == process_status::stopped);
  else
    CHECK(rt.find("a").read()->pid == a_pid);  // before b: untouched
  // A start command still starts a temporary child by hand.
  REQUIRE(rt.find("c").start().wait_for_status(process_status::running,
                                               in(patience)));
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
}

TEST_CASE(
    "a temporary child supervisor that a sibling's one_for_all restart stops "
    "stays stopped",
    "[otp][restart_type][one_for_all]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  auto mid = tree("mid", restart_strategy::one_for_one, {log.child("leaf")});
  mid.restart = restart_policy::temporary;
  auto sup = rt.supervise(
      tree("top", restart_strategy::one_for_all, {mid, log.child("sibling")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(2));

  REQUIRE(rt.find("sibling").signal(SIGKILL));
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 1;
      },
      in(patience)));
  REQUIRE(log.holds(2 + 2));
  CHECK(log.lines_after(2) == strings{"stop leaf", "start sibling"});
  CHECK(rt.find_supervisor("mid").read()->status == supervisor_status::stopped);
  CHECK(rt.find("leaf").read()->status == process_status::stopped);
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
}

TEST_CASE(
    "a process started by hand under a stopped supervisor is not restarted "
    "when it dies: it ends exited",
    "[otp][restart_type]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  auto sup = rt.supervise(
      tree("top", restart_strategy::one_for_one, {log.child("a")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
  auto a = rt.find("a");
  REQUIRE(a.read()->status == process_status::stopped);
  REQUIRE(a.start().wait_for_status(process_status::running, in(patience)));
  const auto before = *a.read();

  REQUIRE(a.signal(SIGKILL));
  REQUIRE(a.wait_until(
      [&](const core::process_state& s) {
        return s.version > before.version &&
               s.status != process_status::backoff &&
               s.status != process_status::running;
      },
      in(patience)));
  const auto after = *a.read();
  CHECK(after.status == process_status::exited);
  // Unsupervised: no backoff was published, no restart counted (an
  // outside tester: both announced a restart that never came).
  CHECK(after.restart_count == before.restart_count);
  for (const auto& t : *a.history())
    if (t.version > before.version) CHECK(t.status != process_status::backoff);
  CHECK(after.pid == 0);
  CHECK(after.last_exit.how == core::termination::kind::signaled);
  // Nobody restarts it, and the supervisor did not move.
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  CHECK(a.read()->status == process_status::exited);
  CHECK(sup.read()->status == supervisor_status::stopped);
  CHECK(sup.read()->restarts == 0);
  // Started again with its supervisor, it is supervised again.
  REQUIRE(
      sup.start().wait_for_status(supervisor_status::running, in(patience)));
  CHECK(a.wait_for_status(process_status::running, in(patience)));
}
