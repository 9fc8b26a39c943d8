// OTP conformance: a child whose start fails (it exits before it counts as
// running, or cannot be spawned). OTP's supervisor starts no later child
// until it has started, retries it counting each attempt, and does not
// keep running the children of a one_for_all or rest_for_one group
// without it. See /docs/design.md "Supervisors".
#include <catch2/catch.hpp>

#include "otp_support.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::supervisor_status;
using strings = std::vector<std::string>;

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
                 "a child that fails to start is retried in its place, "
                 "counted once per attempt, and the next child starts only "
                 "once it runs",
                 "[otp][order][failed_start]") {
  const auto strategy =
      GENERATE(restart_strategy::one_for_one, restart_strategy::one_for_all,
               restart_strategy::rest_for_one);
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
                 "under one_for_one a child that gives up starting stays "
                 "failed alone, and the next child starts after it gave up",
                 "[otp][order][failed_start]") {
  auto db = flaky("db", 1000);
  db.startretries = 1;
  auto sup = rt.supervise(
      tree("fleet", restart_strategy::one_for_one, {db, log.child("app")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(3));
  CHECK(log.lines() == strings{"fail db", "fail db", "start app"});
  auto failed = (*this)["db"];
  CHECK(failed.read()->status == process_status::failed);
  CHECK(last_time_of((*this)["app"], process_status::starting) >=
        last_time_of(failed, process_status::failed));
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
