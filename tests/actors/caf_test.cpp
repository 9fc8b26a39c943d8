// The CAF side a host application sees: subscriptions delivered to its own
// actors, and a runtime living on the application's actor system.
#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "test_support.hpp"
#include "vitrine/child_change.hpp"
#include "vitrine/messages.hpp"
#include "vitrine/runtime.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;

namespace {

/// What a subscriber actor received, shared with the test thread.
struct received_states {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<core::process_state> states;

  bool wait_for_count(std::size_t n, ms limit = patience) {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, limit, [&] { return states.size() >= n; });
  }
  std::vector<core::process_state> copy() {
    std::lock_guard lock{mutex};
    return states;
  }
};

// Function-based actors take their state as a spawn argument: CAF 0.17's
// init_fun_factory dereferences a null argument tuple for a function with
// no arguments (UBSan reports it), so every function actor here has one.
caf::behavior recorder(caf::event_based_actor*,
                       std::shared_ptr<received_states> log) {
  return {[log](state_changed_atom, const core::process_state& s) {
    std::lock_guard lock{log->mutex};
    log->states.push_back(s);
    log->changed.notify_all();
  }};
}

caf::behavior multiplier(caf::event_based_actor*, int factor) {
  return {[factor](int x) { return factor * x; }};
}

caf::actor spawn_recorder(caf::actor_system& sys,
                          std::shared_ptr<received_states> log) {
  return sys.spawn(recorder, std::move(log));
}

}  // namespace

SCENARIO_METHOD(runtime_fixture,
                "a subscribed actor receives every transition in order",
                "[caf][subscribe]") {
  GIVEN("an actor of the application subscribed before the process starts") {
    auto log = std::make_shared<received_states>();
    auto subscriber = spawn_recorder(rt.system(), log);
    auto spec = sh("watched", "exec sleep 30");
    spec.startsecs = 50ms;  // so that it goes through starting
    spec.autostart = false;
    auto h = rt.supervise(spec);
    REQUIRE(h.read()->status == process_status::stopped);
    REQUIRE(h.subscribe(subscriber));
    WHEN("the process is started and stopped") {
      REQUIRE(h.start());  // same sender, so after the subscription
      REQUIRE(reaches(h, process_status::running));
      REQUIRE(h.stop());
      REQUIRE(reaches(h, process_status::stopped));
      THEN("it receives starting, running, stopping, stopped, in order") {
        REQUIRE(log->wait_for_count(4));
        const auto states = log->copy();
        REQUIRE(states.size() == 4);
        CHECK(states[0].status == process_status::starting);
        CHECK(states[1].status == process_status::running);
        CHECK(states[2].status == process_status::stopping);
        CHECK(states[3].status == process_status::stopped);
        for (std::size_t i = 1; i < states.size(); ++i)
          CHECK(states[i].version == states[i - 1].version + 1);
        CHECK(states[0].pid > 0);
        CHECK(states[1].pid == states[0].pid);
        CHECK(states[3].pid == 0);
        CHECK(states[3].last_exit ==
              core::termination{core::termination::kind::signaled, SIGTERM});
        CHECK(states[3].name() == "watched");
        CHECK(states[3].version == h.read()->version);
      }
    }
    caf::anon_send_exit(subscriber, caf::exit_reason::user_shutdown);
  }
}

TEST_CASE(
    "a runtime on a borrowed actor system works, and the system "
    "stays usable after the runtime is gone",
    "[caf][borrowed]") {
  leak_checker leaks;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  pid_t pid = 0;
  {
    runtime rt{sys};
    CHECK(&rt.system() == &sys);
    auto h = rt.supervise(sh("guest", "exec sleep 30"));
    REQUIRE(reaches(h, process_status::running));
    pid = h.read()->pid;
    auto log = std::make_shared<received_states>();
    auto subscriber = spawn_recorder(sys, log);
    REQUIRE(h.subscribe(subscriber));
    REQUIRE(h.restart());
    REQUIRE(log->wait_for_count(3));  // stopping, stopped, running
    caf::anon_send_exit(subscriber, caf::exit_reason::user_shutdown);
    REQUIRE(reaches_when(h, [pid](const auto& s) {
      return s.status == process_status::running && s.pid != pid;
    }));
    pid = h.read()->pid;
  }
  CHECK(gone(pid));
  // The application's system still runs its own actors.
  auto doubler = sys.spawn(multiplier, 2);
  {
    caf::scoped_actor self{sys};
    int result = 0;
    self->request(doubler, std::chrono::seconds{10}, 21)
        .receive([&](int r) { result = r; },
                 [&](caf::error& e) { FAIL(sys.render(e)); });
    CHECK(result == 42);
  }
  caf::anon_send_exit(doubler, caf::exit_reason::user_shutdown);
  // And a second runtime can live on it afterwards.
  {
    runtime again{sys};
    auto h = again.supervise(sh("guest", "exec sleep 30"));
    REQUIRE(reaches(h, process_status::running));
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "a subscriber of a removed child receives its stop, to "
                 "stopped",
                 "[caf][subscribe]") {
  auto log = std::make_shared<received_states>();
  auto subscriber = spawn_recorder(rt.system(), log);
  supervisor_spec app;
  app.name = "app";
  app.children = {sh("kept", "exec sleep 30"), sh("removed", "exec sleep 30")};
  auto sup = rt.supervise(app);
  auto h = rt.find("removed");
  REQUIRE(reaches(h, process_status::running));
  REQUIRE(h.subscribe(subscriber));
  auto change = sup.remove_child("removed");
  REQUIRE(change.wait_for(patience));
  REQUIRE(change.outcome() == change_outcome::done);
  REQUIRE(log->wait_for_count(2));
  const auto states = log->copy();
  REQUIRE(states.size() == 2);
  CHECK(states[0].status == process_status::stopping);
  CHECK(states[1].status == process_status::stopped);
  CHECK(states[1].version == h.read()->version);
  caf::anon_send_exit(subscriber, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(runtime_fixture,
                 "subscribing an actor twice delivers each state once, and "
                 "one unsubscribe ends it",
                 "[caf][subscribe]") {
  auto log = std::make_shared<received_states>();
  auto subscriber = spawn_recorder(rt.system(), log);
  auto spec = sh("twice", "exec sleep 30");
  spec.autostart = false;
  spec.startsecs = 0ms;  // running at once: no `starting` is published
  auto h = rt.supervise(spec);
  REQUIRE(h.subscribe(subscriber));
  REQUIRE(h.subscribe(subscriber));
  REQUIRE(h.start());  // same sender: after both subscriptions
  REQUIRE(reaches(h, process_status::running));
  REQUIRE(log->wait_for_count(1));
  // A second delivery of `running` would come right behind the first.
  REQUIRE_FALSE(log->wait_for_count(2, 200ms));
  CHECK(log->copy()[0].status == process_status::running);
  REQUIRE(h.unsubscribe(subscriber));
  REQUIRE(h.stop());
  REQUIRE(reaches(h, process_status::stopped));
  // The stop's states would follow the unsubscribe, from the same sender.
  CHECK_FALSE(log->wait_for_count(2, 200ms));
  caf::anon_send_exit(subscriber, caf::exit_reason::user_shutdown);
}
