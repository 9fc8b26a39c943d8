// OTP conformance, vitrine's additions: the per-process restart limit, the
// backoff invariant (no command sequence strands a process in backoff),
// commands that can be waited on, and trees far larger than the stack.
#include <catch2/catch.hpp>

#include "otp_support.hpp"

using namespace vitrine;
using namespace vitrine::test;

TEST_CASE(
    "past its own restart limit a process alone becomes failed, and "
    "its supervisor counts only the restarts it asked for",
    "[otp][limit]") {
  leak_checker leaks;
  runtime rt{final_root()};
  auto flappy = sh("flappy", "exit 1");
  flappy.restart_limit = {3, 30'000ms};
  auto spec = tree("fleet", restart_strategy::one_for_one,
                   {flappy, sh("calm", "exec sleep 1000")});
  spec.intensity = 3;  // exactly what one program may ask for
  auto sup = rt.supervise(spec);
  auto h = rt.find("flappy");
  REQUIRE(reaches(h, process_status::failed));
  CHECK(h.read()->restart_count == 3);
  CHECK(h.read()->last_exit ==
        core::termination{core::termination::kind::exited, 1});
  const pid_t calm = rt.find("calm").read()->pid;
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
  CHECK_FALSE(sup.read()->last_failure);
  CHECK(sup.read()->restarts == 3);
  CHECK(all_gone({calm}));
}

TEST_CASE("a start command gives a failed process a fresh restart window",
          "[otp][limit]") {
  leak_checker leaks;
  runtime rt;
  auto flappy = sh("flappy", "exit 1");
  flappy.restart_limit = {2, 30'000ms};
  auto h = rt.supervise(flappy);
  REQUIRE(reaches(h, process_status::failed));
  CHECK(h.read()->restart_count == 2);
  const auto cmd = h.start();
  REQUIRE(cmd.wait_until(
      [](const auto& s) {
        return s.status == process_status::failed && s.restart_count == 4;
      },
      in(patience)));
}

TEST_CASE("a restart limit is validated", "[otp][limit][validation]") {
  auto spec = sh("x", "true");
  spec.restart_limit = {0, 1000ms};
  auto problems = validate(spec);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].field == "x.restart_limit.burst");
  spec.restart_limit = {0, 0ms};  // disabled: the burst does not matter
  CHECK(validate(spec).empty());
  spec.restart_limit = {3, -1ms};
  CHECK(validate(spec).size() == 1);
  supervisor_spec sup;
  sup.name = "s";
  sup.period = 0ms;  // OTP: period 0 is an error
  CHECK(validate(sup).size() == 1);
}

TEST_CASE(
    "the stranded-backoff sequence: after its supervisor failed, a "
    "child started by hand that crashes again reaches a terminal state",
    "[otp][backoff][invariant]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  const auto trigger = log.file("crash-now");
  auto spec = tree("brittle", restart_strategy::one_for_one,
                   {log.crasher("worker", trigger), log.child("other")});
  spec.intensity = 0;
  auto sup = rt.supervise(spec);
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  auto worker = rt.find("worker");
  log.touch("crash-now");
  REQUIRE(sup.wait_for_status(supervisor_status::failed, in(patience)));
  REQUIRE(reaches(worker, process_status::stopped));
  // The root (intensity 0) failed too, having stopped the tree once more.
  REQUIRE(rt.root().wait_for_status(supervisor_status::failed, in(patience)));

  // Started by hand under the failed supervisor, it crashes again: nobody
  // restarts it, so it ends exited, with no restart counted (nor was the
  // first exit's, which the supervisor refused as it failed).
  REQUIRE(
      worker.start().wait_for_status(process_status::running, in(patience)));
  log.touch("crash-now");
  REQUIRE(reaches_when(worker, [](const auto& s) {
    return s.status == process_status::exited && s.restart_count == 0 &&
           s.pid == 0 && s.last_exit.how == core::termination::kind::exited;
  }));
  CHECK(sup.read()->status == supervisor_status::failed);

  // The supervisor, started again, starts both in order.
  const auto before = log.lines().size();
  REQUIRE(
      sup.start().wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(before + 2));
  CHECK(log.lines_after(before) == strings{"start worker", "start other"});
}

TEST_CASE(
    "a process in backoff always starts or reaches a terminal state, "
    "whatever commands come",
    "[otp][backoff][invariant]") {
  leak_checker leaks;
  runtime rt;  // the default root restarts its direct children
  auto spec = sh("slowback", "exec sleep 1000");
  spec.backoff.min = 600ms;
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::running));

  SECTION("a stop during the backoff stops it") {
    REQUIRE(h.signal(SIGKILL));
    REQUIRE(reaches(h, process_status::backoff));
    REQUIRE(h.stop().wait_for_status(process_status::stopped, in(patience)));
    CHECK(h.read()->pid == 0);
  }
  SECTION("a start during the backoff spawns once the delay is over") {
    const auto killed = clock::now();
    REQUIRE(h.signal(SIGKILL));
    REQUIRE(reaches(h, process_status::backoff));
    REQUIRE(h.start().wait_for_status(process_status::running, in(patience)));
    CHECK(clock::now() - killed >= 600ms);
  }
  SECTION("a restart during the backoff spawns at once") {
    REQUIRE(h.signal(SIGKILL));
    REQUIRE(reaches(h, process_status::backoff));
    REQUIRE(h.restart().wait_for_status(process_status::running, in(patience)));
  }
  SECTION("stop, start, stop, start in a row end running") {
    REQUIRE(h.signal(SIGKILL));
    REQUIRE(reaches(h, process_status::backoff));
    h.stop();
    h.start();
    h.stop();
    REQUIRE(h.start().wait_for_status(process_status::running, in(patience)));
  }
}

TEST_CASE("restart, then wait until running with a new pid, is one line",
          "[otp][command]") {
  leak_checker leaks;
  runtime rt;
  auto h = rt.supervise(sh("svc", "exec sleep 1000"));
  REQUIRE(reaches(h, process_status::running));
  const pid_t old = h.read()->pid;
  const auto cmd = h.restart();
  REQUIRE(cmd);
  REQUIRE(cmd.wait_for_status(process_status::running, in(patience)));
  CHECK(h.read()->pid != old);
  CHECK(h.read()->applied_command >= cmd.ticket());
  CHECK(all_gone({old}));
  // Tickets grow with every command.
  CHECK(h.stop().ticket() > cmd.ticket());
  rt.shutdown();
  CHECK_FALSE(h.start());  // the runtime is gone: not sent
  CHECK_FALSE(h.start().wait_until(in(10ms)));
  CHECK_FALSE(rt.root().start());
}

TEST_CASE(
    "a tree of 100,000 programs that do not start automatically is "
    "built, listed and shut down without deep recursion",
    "[otp][scale]") {
  leak_checker leaks;
  runtime rt;
  supervisor_spec spec;
  spec.name = "huge";
  constexpr std::size_t n = 100'000;
  spec.children.reserve(n);
  auto one = sh("p", "exec sleep 1000");
  one.autostart = false;
  for (std::size_t i = 0; i < n; ++i) {
    one.name = std::string{"p"}.append(std::to_string(i));
    spec.children.push_back(one);
  }
  auto sup = rt.supervise(std::move(spec));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  CHECK(sup.read()->child_count == n);
  CHECK(rt.processes().size() == n);
  auto last = rt.find("p99999");
  REQUIRE(last);
  CHECK(last.read()->status == process_status::stopped);
  REQUIRE(last.start().wait_for_status(process_status::running, in(patience)));
}

TEST_CASE(
    "set_intensity changes a running supervisor's limit; the restarts "
    "already in its window count toward the new one",
    "[otp][limit][intensity]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  auto spec = tree("tunable", restart_strategy::one_for_one,
                   {log.child("c"), log.child("calm")});
  spec.intensity = 0;  // the first restart would fail it
  auto sup = rt.supervise(spec);
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  auto crash_and_wait = [&](std::uint32_t restarts) {
    REQUIRE(rt.find("c").signal(SIGKILL));
    return sup.wait_until(
        [restarts](const auto& s) {
          return s.restarts == restarts ||
                 s.status == supervisor_status::failed;
        },
        in(patience));
  };
  REQUIRE(sup.set_intensity(3, 60'000ms).wait_until(in(patience)));
  for (std::uint32_t n = 1; n <= 3; ++n) {
    REQUIRE(crash_and_wait(n));
    REQUIRE(reaches(rt.find("c"), process_status::running));
  }
  CHECK(sup.read()->status == supervisor_status::running);
  // Three restarts in the window: a limit of 3 is reached, not exceeded;
  // lowered to 2, the next one fails it.
  REQUIRE(sup.set_intensity(2, 60'000ms).wait_until(in(patience)));
  REQUIRE(crash_and_wait(4));
  REQUIRE(sup.wait_for_status(supervisor_status::failed, in(patience)));
  CHECK(sup.read()->last_failure->intensity == 2);
  // Every restart in the window is counted, not only the limit + 1 kept.
  CHECK(sup.read()->last_failure->restarts_in_window == 4);

  CHECK_THROWS_AS(sup.set_intensity(1, 0ms), spec_error);
  CHECK_THROWS_AS(sup.set_intensity(2'000'000, 1000ms), spec_error);
}
