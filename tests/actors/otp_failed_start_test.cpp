// OTP conformance: a child whose start fails (it exits before it counts as
// running, or cannot be spawned). Under one_for_all and rest_for_one,
// as OTP's supervisor, no later child starts until it has started, each
// retry counts, and the group does not run on without a child that gave
// up; one_for_one retries it apart (independent children) and keeps a
// child that gave up failed alone. See /docs/design.md "Supervisors".
#include <catch2/catch.hpp>

#include <algorithm>

#include "otp_support.hpp"

using namespace vitrine;
using namespace vitrine::test;

namespace {

struct fixture {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};

  /// A child that logs "fail NAME" and exits 1 before it is ready, the
  /// first `failures` times it runs; then it behaves as log.child(NAME).
  process_spec flaky(const std::string& name, int failures) {
    auto spec = log.child(name);
    const std::string count = log.file(name + ".runs");
    const std::string script = spec.launch.argv.back();
    spec.launch.argv.back() = "echo x >> " + count + "; if [ $(wc -l < " +
                              count + ") -le " + std::to_string(failures) +
                              " ]; then echo fail " + name + " >> " +
                              log.file("events") + "; exit 1; fi; " + script;
    spec.backoff.min = 10ms;
    spec.backoff.max = 10ms;
    return spec;
  }
  process_handle operator[](const char* name) const { return rt.find(name); }
};

bool never_started(const process_handle& h) {
  for (const auto& t : history_of(h))
    if (t.status == process_status::starting) return false;
  return h.read()->pid == 0;
}

}  // namespace

TEST_CASE_METHOD(fixture,
                 "under one_for_all and rest_for_one a child that fails to "
                 "start is retried in its place, counted once per attempt, "
                 "and the next child starts only once it runs",
                 "[otp][order][failed_start]") {
  const auto strategy =
      GENERATE(restart_strategy::one_for_all, restart_strategy::rest_for_one);
  auto sup =
      rt.supervise(tree("deps", strategy, {flaky("db", 2), log.child("app")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(4));
  CHECK(log.lines() == strings{"fail db", "fail db", "start db", "start app"});
  auto db = (*this)["db"], app = (*this)["app"];
  CHECK(last_time_of(app, process_status::starting) >=
        last_time_of(db, process_status::running));
  CHECK(sup.read()->restarts == 2);  // two retries, one event each
  CHECK(db.read()->status == process_status::running);
  CHECK(app.read()->restart_count == 0);
}

TEST_CASE_METHOD(fixture,
                 "a child that gives up starting fails its one_for_all or "
                 "rest_for_one supervisor; the children after it never start",
                 "[otp][escalation][failed_start]") {
  const auto strategy =
      GENERATE(restart_strategy::one_for_all, restart_strategy::rest_for_one);
  auto db = flaky("db", 1000);
  db.startretries = 1;
  auto sup = rt.supervise(tree("deps", strategy, {db, log.child("app")}));
  REQUIRE(sup.wait_for_status(supervisor_status::failed, in(patience)));
  const auto s = sup.read();
  REQUIRE(s->last_failure);
  CHECK(s->last_failure->child == "db");
  CHECK(s->last_failure->child_gave_up);
  CHECK(s->last_failure->describe() ==
        "child 'db' (exit 1) failed for good, and its siblings depend on it");
  CHECK((*this)["db"].read()->status == process_status::failed);
  CHECK(never_started((*this)["app"]));
  CHECK(log.lines() == strings{"fail db", "fail db"});
}

TEST_CASE_METHOD(fixture,
                 "under one_for_one a child that fails to start is retried "
                 "apart: the next child does not wait out its backoff",
                 "[otp][order][failed_start]") {
  auto db = flaky("db", 1);
  db.backoff.min = db.backoff.max = 1500ms;
  auto sup = rt.supervise(
      tree("fleet", restart_strategy::one_for_one, {db, log.child("app")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(3));
  CHECK(log.lines() == strings{"fail db", "start app", "start db"});
  auto retried = (*this)["db"];
  REQUIRE(retried.wait_for_status(process_status::running, in(patience)));
  CHECK(last_time_of(retried, process_status::running) -
            last_time_of(retried, process_status::backoff) >=
        1500ms);
  CHECK(sup.read()->restarts == 1);
}

TEST_CASE_METHOD(fixture,
                 "under one_for_one a child that gives up starting stays "
                 "failed alone, its supervisor and siblings running",
                 "[otp][order][failed_start]") {
  auto db = flaky("db", 1000);
  db.startretries = 1;
  auto sup = rt.supervise(
      tree("fleet", restart_strategy::one_for_one, {db, log.child("app")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  auto failed = (*this)["db"];
  REQUIRE(failed.wait_for_status(process_status::failed, in(patience)));
  REQUIRE(log.holds(3));
  auto lines = log.lines();
  std::sort(lines.begin(), lines.end());
  CHECK(lines == strings{"fail db", "fail db", "start app"});
  CHECK((*this)["app"].read()->status == process_status::running);
  CHECK(sup.read()->status == supervisor_status::running);
  CHECK_FALSE(sup.read()->last_failure);
}

TEST_CASE_METHOD(fixture,
                 "a running child that gives up (its restart limit) fails "
                 "its one_for_all or rest_for_one supervisor",
                 "[otp][escalation][failed_start]") {
  const auto strategy =
      GENERATE(restart_strategy::one_for_all, restart_strategy::rest_for_one);
  auto db = log.crasher("db", log.file("crash"), 3);
  db.restart_limit = {.burst = 1, .interval = 30'000ms};
  auto sup = rt.supervise(tree("deps", strategy, {db, log.child("app")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  auto h = (*this)["db"];
  log.touch("crash");  // restarted: the first restart within the limit
  REQUIRE(h.wait_until(
      [](const auto& s) {
        return s.restart_count == 1 && s.status == process_status::running;
      },
      in(patience)));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  log.touch("crash");  // past the limit: db gives up
  REQUIRE(sup.wait_for_status(supervisor_status::failed, in(patience)));
  CHECK(h.read()->status == process_status::failed);
  CHECK(sup.read()->last_failure->child_gave_up);
  CHECK(sup.read()->last_failure->exit == "exit 3");
  CHECK((*this)["app"].read()->status == process_status::stopped);
}

TEST_CASE_METHOD(fixture,
                 "a child supervisor that fails within its parent's start is "
                 "retried there, and the parent's later children wait",
                 "[otp][escalation][failed_start]") {
  auto db = flaky("db", 1000);
  db.startretries = 0;
  auto inner = tree("inner", restart_strategy::one_for_all, {db});
  auto outer =
      tree("outer", restart_strategy::rest_for_one, {inner, log.child("app")});
  outer.intensity = 2;
  auto sup = rt.supervise(outer);
  REQUIRE(sup.wait_for_status(supervisor_status::failed, in(patience)));
  const auto s = sup.read();
  REQUIRE(s->last_failure);
  CHECK(s->last_failure->child == "inner");
  CHECK(s->restarts == 2);  // two retries of inner, then past intensity 2
  CHECK(never_started((*this)["app"]));
  // inner started three times: each attempt ran db once.
  CHECK(log.lines() == strings{"fail db", "fail db", "fail db"});
}
