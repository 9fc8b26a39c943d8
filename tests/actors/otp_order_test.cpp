// OTP conformance: the order of starts and stops, as the children record it
// themselves, and how restarts are counted (one per event). See
// /docs/design.md "Supervision" and OTP's supervisor manual.
#include <catch2/catch.hpp>
#include <thread>

#include "otp_support.hpp"

using namespace vitrine;
using namespace vitrine::test;

namespace {

struct fixture {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};

  /// a, b, c under `strategy`; b waits `b_backoff` before a restart.
  supervisor_handle trio(restart_strategy strategy, ms b_backoff = 10ms) {
    auto b = log.child("b");
    b.backoff.min = b_backoff;
    auto sup = rt.supervise(
        tree("trio", strategy, {log.child("a"), b, log.child("c")}));
    REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
    REQUIRE(log.holds(3));
    return sup;
  }
  process_handle operator[](const char* name) const { return rt.find(name); }

  /// After b's exit in a tree of a, b, c (c stopped for the restart, the
  /// log's fourth line), under `strategy`: waits until the tree runs after
  /// one restart, and checks the restart's order in the log, without
  /// "start SKIPPED" when a child is named.
  void check_held_restart(const supervisor_handle& sup,
                          restart_strategy strategy,
                          const std::string& skipped) {
    REQUIRE(sup.wait_until(
        [](const auto& s) {
          return s.status == supervisor_status::running && s.restarts == 1;
        },
        in(patience)));
    auto expected =
        strategy == restart_strategy::one_for_all
            ? strings{"stop c", "stop a", "start a", "start b", "start c"}
            : strings{"stop c", "start b", "start c"};
    if (!skipped.empty()) std::erase(expected, "start " + skipped);
    REQUIRE(log.holds(3 + expected.size()));
    CHECK(log.lines_after(3) == expected);
  }
};

}  // namespace

TEST_CASE_METHOD(fixture,
                 "children start in spec order, each once the previous one "
                 "runs, and stop in reverse order",
                 "[otp][order]") {
  auto slow = [&](const char* name) {
    auto spec = log.child(name);
    spec.startsecs = 150ms;  // running only after 150 ms up
    return spec;
  };
  auto sup = rt.supervise(tree("ordered", restart_strategy::one_for_one,
                               {slow("a"), slow("b"), slow("c")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  CHECK(log.lines() == strings{"start a", "start b", "start c"});
  auto a = (*this)["a"], b = (*this)["b"], c = (*this)["c"];
  // Each spawned (starting) only after the previous one reached running.
  CHECK(last_time_of(b, process_status::starting) >=
        last_time_of(a, process_status::running));
  CHECK(last_time_of(c, process_status::starting) >=
        last_time_of(b, process_status::running));
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
  REQUIRE(log.holds(6));
  CHECK(log.lines_after(3) == strings{"stop c", "stop b", "stop a"});
}

TEST_CASE_METHOD(fixture,
                 "one_for_all stops the others in reverse order, waits out "
                 "the exited child's backoff, then starts all in spec order",
                 "[otp][order][one_for_all]") {
  auto sup = trio(restart_strategy::one_for_all, 400ms);
  const auto killed_at = clock::now();
  REQUIRE((*this)["b"].signal(SIGKILL));
  REQUIRE(log.holds(3 + 5));
  CHECK(log.lines_after(3) ==
        strings{"stop c", "stop a", "start a", "start b", "start c"});
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 1;
      },
      in(patience)));
  // No sibling came back before b's delay had passed.
  const auto a_back = last_time_of((*this)["a"], process_status::running);
  INFO("a back after " << millis(a_back - killed_at) << " ms");
  CHECK(a_back - killed_at >= 400ms);
  // One event, one restart: the supervisor counts 1, the exited child 1,
  // and the siblings restarted with it count nothing of their own.
  CHECK(sup.read()->restarts == 1);
  CHECK((*this)["b"].read()->restart_count == 1);
  CHECK((*this)["a"].read()->restart_count == 0);
  CHECK((*this)["c"].read()->restart_count == 0);
}

TEST_CASE_METHOD(fixture,
                 "rest_for_one stops the later children in reverse order, "
                 "starts the exited child after its backoff, then the later "
                 "ones",
                 "[otp][order][rest_for_one]") {
  auto a = log.child("a");
  auto b = log.child("b");
  auto c = log.child("c");
  auto d = log.child("d");
  b.backoff.min = 300ms;
  auto sup =
      rt.supervise(tree("chain", restart_strategy::rest_for_one, {a, b, c, d}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(4));
  const pid_t a_pid = (*this)["a"].read()->pid;
  const auto killed_at = clock::now();
  REQUIRE((*this)["b"].signal(SIGKILL));
  REQUIRE(log.holds(4 + 5));
  CHECK(log.lines_after(4) ==
        strings{"stop d", "stop c", "start b", "start c", "start d"});
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 1;
      },
      in(patience)));
  CHECK(last_time_of((*this)["c"], process_status::running) - killed_at >=
        300ms);
  CHECK(last_time_of((*this)["c"], process_status::starting) >=
        last_time_of((*this)["b"], process_status::running));
  // The child before the exited one is untouched.
  CHECK((*this)["a"].read()->pid == a_pid);
  CHECK((*this)["a"].read()->restart_count == 0);
  CHECK(sup.read()->restarts == 1);
  CHECK((*this)["b"].read()->restart_count == 1);
  CHECK((*this)["c"].read()->restart_count == 0);
  CHECK((*this)["d"].read()->restart_count == 0);
}

TEST_CASE_METHOD(fixture,
                 "one_for_one restarts only the exited child, after its "
                 "backoff, counting one restart",
                 "[otp][order][one_for_one]") {
  auto sup = trio(restart_strategy::one_for_one, 200ms);
  const pid_t a_pid = (*this)["a"].read()->pid;
  const pid_t c_pid = (*this)["c"].read()->pid;
  REQUIRE((*this)["b"].signal(SIGKILL));
  REQUIRE(log.holds(4));
  CHECK(log.lines_after(3) == strings{"start b"});
  REQUIRE(reaches_when((*this)["b"], [](const auto& s) {
    return s.status == process_status::running && s.restart_count == 1;
  }));
  CHECK((*this)["a"].read()->pid == a_pid);
  CHECK((*this)["c"].read()->pid == c_pid);
  CHECK(sup.read()->restarts == 1);
}

TEST_CASE_METHOD(fixture,
                 "a stop reaps each child before it stops the previous one, "
                 "even when another child reports an exit meanwhile",
                 "[otp][order][stop]") {
  // b's stop takes 300 ms and, as it begins, makes x crash: x's report
  // reaches the supervisor while the stop waits for b. Once the regression
  // (any pump issued the next step while one was in flight: the stop went
  // on to a, and a shutdown could reply with a still stopping) is back,
  // "stop a" comes before "gone b".
  const auto trigger = log.file("crash-now");
  auto x = log.crasher("x", trigger);
  x.backoff.min = 5000ms;  // if it were restarted, not before the end
  auto sup = rt.supervise(
      tree("lingering", restart_strategy::one_for_one,
           {x, log.lingerer("a", 300ms), log.lingerer("b", 300ms, trigger)}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(3));
  const std::vector<process_handle> abx{(*this)["a"], (*this)["b"],
                                        (*this)["x"]};
  std::vector<pid_t> pids;
  for (const auto& h : abx) pids.push_back(h.read()->pid);
  const strings in_order{"stop b", "gone b", "stop a", "gone a"};

  SECTION("a stop command") {
    REQUIRE(
        sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
    // `stopped` once every child is reaped, not before.
    for (const auto& h : abx) {
      CHECK(h.read()->status != process_status::stopping);
      CHECK(h.read()->pid == 0);
    }
    REQUIRE(log.holds(3 + 4));
    CHECK(log.lines_after(3) == in_order);
  }
  SECTION("the runtime's shutdown") {
    rt.shutdown();
    REQUIRE(log.holds(3 + 4));
    CHECK(log.lines_after(3) == in_order);
  }
  CHECK(all_gone(pids));
}

TEST_CASE_METHOD(fixture,
                 "a supervisor's stop wins over a restart command still "
                 "stopping the child: the child stays stopped",
                 "[otp][order][stop]") {
  auto sup = rt.supervise(tree("pair", restart_strategy::one_for_one,
                               {log.lingerer("a", 300ms), log.child("b")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(2));
  auto a = (*this)["a"];
  const pid_t old = a.read()->pid;
  REQUIRE(a.restart().wait_for_status(process_status::stopping, in(patience)));
  REQUIRE(log.holds(3));  // a's trap runs: "stop a"
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
  // A barrier: a command `a` applies after it answered the supervisor. The
  // restart's start would have come with that answer.
  REQUIRE(a.stop().wait_until(in(patience)));
  std::size_t starts = 0;
  for (const auto& t : history_of(a))
    if (t.status == process_status::starting) ++starts;
  CHECK(starts == 1);
  CHECK(a.read()->status == process_status::stopped);
  CHECK(a.read()->pid == 0);
  // The restart's stop, then the supervisor's: b first, then a (already
  // stopping: its reap answers the supervisor).
  REQUIRE(log.holds(5));
  CHECK(log.lines_after(2) == strings{"stop a", "stop b", "gone a"});
  CHECK(all_gone({old}));
}

TEST_CASE_METHOD(fixture,
                 "rest_for_one: an earlier child's exit while a later one "
                 "waits out its backoff takes the restart over at once",
                 "[otp][order][rest_for_one]") {
  auto c = log.crasher("c", log.file("crash-c"));
  c.backoff.min = c.backoff.max = 2000ms;
  auto sup = rt.supervise(tree("rfo", restart_strategy::rest_for_one,
                               {log.crasher("a", log.file("crash-a")),
                                log.child("b"), c, log.child("d")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(4));
  auto hc = (*this)["c"];
  log.touch("crash-c");
  REQUIRE(hc.wait_for_status(process_status::backoff, in(patience)));
  REQUIRE(log.holds(4 + 1));  // "stop d": c's restart waits out its delay
  const auto c_exited = last_time_of(hc, process_status::backoff);
  log.touch("crash-a");
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 2;
      },
      in(patience)));
  REQUIRE(log.holds(4 + 6));
  // a restarts without waiting for c's delay; c and d, after a, start no
  // earlier than c's delay has passed.
  CHECK(log.lines_after(4) == strings{"stop d", "stop b", "start a", "start b",
                                      "start c", "start d"});
  CHECK(last_time_of(hc, process_status::starting) - c_exited >= 2000ms);
  CHECK((*this)["a"].read()->restart_count == 1);
  CHECK(hc.read()->restart_count == 1);
}

TEST_CASE_METHOD(fixture,
                 "rest_for_one: a restart taken over keeps the delay of a "
                 "later child retrying a failed start",
                 "[otp][order][rest_for_one]") {
  // c runs; its second run fails before it is ready; later runs run.
  auto c = log.child("c");
  const std::string runs = log.file("c.runs");
  c.launch.argv.back() = "echo x >> " + runs + "; if [ $(wc -l < " + runs +
                         ") -eq 2 ]; then exit 1; fi; " + c.launch.argv.back();
  c.backoff.min = c.backoff.max = 2000ms;
  auto sup = rt.supervise(tree("rfo", restart_strategy::rest_for_one,
                               {log.crasher("a", log.file("crash-a")),
                                log.crasher("b", log.file("crash-b")), c}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(3));
  auto hc = (*this)["c"];
  log.touch("crash-b");  // restart from b: c's second run fails to start
  REQUIRE(hc.wait_until(
      [](const auto& s) {
        // Not charged b's restart, and its own not carried out yet.
        return s.status == process_status::backoff && s.restart_count == 0;
      },
      in(patience)));
  const auto c_failed = last_time_of(hc, process_status::backoff);
  log.touch("crash-a");  // a exits while c waits out its delay
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 3;
      },
      in(patience)));
  REQUIRE(hc.wait_for_status(process_status::running, in(patience)));
  CHECK(last_time_of(hc, process_status::starting) - c_failed >= 2000ms);
  CHECK(hc.read()->restart_count == 1);
}

TEST_CASE_METHOD(fixture,
                 "rest_for_one: an exit during the tree's first start waits "
                 "for that start, which returns once every child ran",
                 "[otp][order][rest_for_one]") {
  // a is killed 300 ms into its first run, while b (1 s before it is
  // ready) is still starting. OTP handles the exit after the start.
  auto a = log.child("a");
  const std::string once = log.file("a.once");
  a.launch.argv.back() = "if [ ! -e " + once + " ]; then : > " + once +
                         "; (sleep 0.3; kill -9 $$) & fi; " +
                         a.launch.argv.back();
  auto b = log.child("b");
  b.launch.argv.back() = "sleep 1; " + b.launch.argv.back();
  auto sup = rt.supervise(tree("rfo", restart_strategy::rest_for_one, {a, b}));
  // Before: a's exit took the start over, and supervise() returned at
  // once, b still starting.
  const auto hb = (*this)["b"];
  CHECK(hb.read()->status != process_status::starting);
  CHECK(last_time_of(hb, process_status::running) != clock::time_point{});
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 1;
      },
      in(patience)));
  REQUIRE(log.holds(5));
  CHECK(log.lines() ==
        strings{"start a", "start b", "stop b", "start a", "start b"});
}

TEST_CASE_METHOD(fixture,
                 "a start or restart command to a child that a group "
                 "restart holds is carried out by that restart, in spec "
                 "order; a stop command makes it skip the child",
                 "[otp][order]") {
  const auto strategy =
      GENERATE(restart_strategy::one_for_all, restart_strategy::rest_for_one);
  const std::string command = GENERATE("start", "restart", "stop");
  // c: stopped by the restart; b: the exited child, in its backoff.
  const std::string target = GENERATE("c", "b");
  INFO(to_string(strategy) << ", " << command << " " << target);
  auto sup = trio(strategy, 1500ms);  // b waits 1.5 s before its restart
  auto b = (*this)["b"], c = (*this)["c"];
  REQUIRE(b.signal(SIGKILL));
  REQUIRE(log.holds(4));  // "stop c": stopped for the restart
  REQUIRE(reaches(c, process_status::stopped));
  // Before: a start or restart ran the target at once, ahead of what it
  // depends on; the restart undid a stop.
  const auto h = target == "b" ? b : c;
  const auto applied = command == "start"     ? h.start()
                       : command == "restart" ? h.restart()
                                              : h.stop();
  REQUIRE(applied.wait_until(in(patience)));
  check_held_restart(sup, strategy, command == "stop" ? target : "");
  CHECK(h.read()->status == (command == "stop" ? process_status::stopped
                                               : process_status::running));
}

TEST_CASE_METHOD(fixture,
                 "a start command to a child supervisor that a group restart "
                 "holds is carried out by that restart, in spec order; a "
                 "stop command makes it skip the child supervisor",
                 "[otp][order]") {
  const auto strategy =
      GENERATE(restart_strategy::one_for_all, restart_strategy::rest_for_one);
  const std::string command = GENERATE("start", "stop");
  INFO(to_string(strategy) << ", " << command << " inner");
  auto b = log.child("b");
  b.backoff.min = 1500ms;  // b waits 1.5 s before its restart
  auto sup = rt.supervise(
      tree("top", strategy,
           {log.child("a"), b,
            tree("inner", restart_strategy::one_for_one, {log.child("c")})}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(3));
  const auto inner = rt.find_supervisor("inner");
  REQUIRE((*this)["b"].signal(SIGKILL));
  REQUIRE(log.holds(4));  // "stop c": inner stopped for the restart
  REQUIRE(inner.wait_for_status(supervisor_status::stopped, in(patience)));
  // Before: a start ran inner (and c) at once, ahead of b.
  const auto applied = command == "start" ? inner.start() : inner.stop();
  REQUIRE(applied.wait_until(in(patience)));
  check_held_restart(sup, strategy, command == "stop" ? "c" : "");
  CHECK(inner.read()->status == (command == "stop"
                                     ? supervisor_status::stopped
                                     : supervisor_status::running));
}

TEST_CASE_METHOD(fixture,
                 "a restart command during a child's turn in its "
                 "supervisor's start: the next child starts once the new "
                 "run is up",
                 "[otp][order]") {
  const auto strategy =
      GENERATE(restart_strategy::one_for_all, restart_strategy::rest_for_one);
  INFO(to_string(strategy));
  // a is ready (and logs "start a") 1 s after each spawn.
  auto a = log.child("a");
  a.launch.argv.back() = "sleep 1; " + a.launch.argv.back();
  auto sup =
      rt.supervise(tree("slow", strategy, {a, log.child("b"), log.child("c")}));
  REQUIRE(log.holds(3));
  const auto ha = (*this)["a"];
  const auto first = *ha.read();
  // a's exit restarts the tree; during a's 1 s turn a handle restarts it.
  REQUIRE(ha.signal(SIGKILL));
  REQUIRE(ha.wait_until(
      [&](const auto& s) {
        return s.status == process_status::starting && s.pid != first.pid;
      },
      in(patience)));
  std::this_thread::sleep_for(300ms);
  REQUIRE(ha.restart().wait_until(in(patience)));
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 1;
      },
      in(patience)));
  // Before: the stop of a ended its turn; b started while a started again,
  // and the tree said `running` before a was.
  CHECK(ha.read()->status == process_status::running);
  REQUIRE(log.holds(8));
  CHECK(log.lines_after(3) ==
        strings{"stop c", "stop b", "start a", "start b", "start c"});
}
