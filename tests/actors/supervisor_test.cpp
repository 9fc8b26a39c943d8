// Supervisors: restart intensity, the three strategies, nested trees.
#include <catch2/catch.hpp>

#include <map>

#include "test_support.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/runtime.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::supervisor_status;

namespace {

process_spec sleeper(std::string name) {
  return sh(std::move(name), "exec sleep 1000");
}

/// Waits until the supervisor is running after `restarts` restarts.
bool settles_after(const supervisor_handle& sup, std::uint32_t restarts) {
  const bool ok = eventually([&] {
    auto s = sup.read();
    return s->restarts >= restarts && s->status == supervisor_status::running;
  });
  if (!ok) UNSCOPED_INFO("now " << describe(*sup.read()));
  return ok;
}

/// Every pid this process ever had, and nothing left in their groups.
void check_no_process_left(const process_handle& h) {
  const auto pids = pids_in_history(h);
  INFO(h.name() << " had " << pids.size() << " pid(s)");
  CHECK(all_gone(pids, 5000ms));
  for (pid_t pid : pids) CHECK(os::processes_in_group(pid).empty());
}

const core::supervisor_transition& last_of(
    const core::supervisor_history& history) {
  return history[history.size() - 1];
}

/// A runtime whose root never restarts a failed top-level supervisor (root
/// intensity 0, as `vitrine run` does), so a failure stays observable.
struct final_top_fixture {
  static runtime_options options() {
    runtime_options o;
    o.root_intensity = 0;
    return o;
  }
  leak_checker leaks;
  runtime rt{options()};
};

}  // namespace

SCENARIO_METHOD(final_top_fixture,
                "a supervisor whose children restart too often fails and "
                "stops them all",
                "[supervisor][intensity]") {
  GIVEN("a supervisor with intensity 2 over a crashing and a calm child") {
    supervisor_spec spec;
    spec.name = "fragile";
    spec.intensity = 2;
    spec.period = 30'000ms;
    spec.children = {sleeper("calm"), sh("crashy", "exit 1")};
    auto sup = rt.supervise(spec);
    auto calm = rt.find("calm");
    auto crashy = rt.find("crashy");
    REQUIRE(calm);
    REQUIRE(crashy);
    WHEN("the crashing child needs a third restart within the period") {
      REQUIRE(reaches(sup, supervisor_status::failed));
      THEN("the supervisor failed after two restarts, children stopped") {
        CHECK(sup.read()->restarts == 2);
        CHECK(reaches(calm, process_status::stopped));
        CHECK(reaches(crashy, process_status::stopped));
        CHECK(calm.read()->pid == 0);
        CHECK(crashy.read()->pid == 0);
        // Three runs, two restarts: the third refused is not counted
        // (before: 3, an outside tester's find).
        CHECK(crashy.read()->restart_count == 2);
        CHECK(pids_in_history(crashy).size() == 3);
        check_no_process_left(calm);
        check_no_process_left(crashy);
        // It stays failed: this root (intensity 0) does not restart a
        // failed top-level tree (the pids being gone above took a while).
        CHECK(sup.read()->status == supervisor_status::failed);
        CHECK(calm.read()->status == process_status::stopped);
        CHECK(crashy.read()->status == process_status::stopped);
      }
    }
  }
  GIVEN("a supervisor with intensity 0") {
    supervisor_spec spec;
    spec.name = "brittle";
    spec.intensity = 0;
    spec.children = {sh("once", "exit 1"), sleeper("bystander")};
    auto sup = rt.supervise(spec);
    auto once = rt.find("once");
    auto bystander = rt.find("bystander");
    THEN("the first restart needed fails the supervisor") {
      REQUIRE(reaches(sup, supervisor_status::failed));
      CHECK(sup.read()->restarts == 0);
      CHECK(reaches(once, process_status::stopped));
      CHECK(reaches(bystander, process_status::stopped));
      CHECK(pids_in_history(once).size() == 1);
      check_no_process_left(once);
      check_no_process_left(bystander);
    }
  }
}

SCENARIO_METHOD(runtime_fixture,
                "each strategy restarts exactly the right siblings",
                "[supervisor][strategy]") {
  auto strategy =
      GENERATE(restart_strategy::one_for_one, restart_strategy::one_for_all,
               restart_strategy::rest_for_one);
  GIVEN("three sleeping children a, b, c under a " +
        std::string{to_string(strategy)} + " supervisor") {
    supervisor_spec spec;
    spec.name = "trio";
    spec.strategy = strategy;
    spec.intensity = 5;
    spec.period = 30'000ms;
    spec.children = {sleeper("a"), sleeper("b"), sleeper("c")};
    auto sup = rt.supervise(spec);
    REQUIRE(reaches(sup, supervisor_status::running));
    std::map<std::string, process_handle> h;
    std::map<std::string, pid_t> before;
    for (const char* n : {"a", "b", "c"}) {
      h[n] = rt.find(n);
      REQUIRE(h[n]);
      REQUIRE(reaches(h[n], process_status::running));
      before[n] = h[n].read()->pid;
    }
    WHEN("b is killed") {
      REQUIRE(h["b"].signal(SIGKILL));
      REQUIRE(settles_after(sup, 1));
      for (const char* n : {"a", "b", "c"})
        REQUIRE(reaches_when(h[n], [](const auto& s) {
          return s.status == process_status::running && s.pid != 0;
        }));
      std::map<std::string, bool> changed;
      for (const char* n : {"a", "b", "c"}) {
        changed[n] = h[n].read()->pid != before[n];
        UNSCOPED_INFO(describe(*h[n].read())
                      << " (was pid " << before[n] << ")");
      }
      THEN("the strategy's siblings, and only those, have new pids") {
        CHECK(changed["b"]);
        CHECK(h["b"].read()->last_exit ==
              core::termination{core::termination::kind::signaled, SIGKILL});
        CHECK(h["b"].read()->restart_count == 1);
        switch (strategy) {
          case restart_strategy::one_for_one:
            CHECK_FALSE(changed["a"]);
            CHECK_FALSE(changed["c"]);
            break;
          case restart_strategy::one_for_all:
            CHECK(changed["a"]);
            CHECK(changed["c"]);
            break;
          case restart_strategy::rest_for_one:
            CHECK_FALSE(changed["a"]);
            CHECK(changed["c"]);
            break;
        }
        CHECK(sup.read()->restarts == 1);
        // The old pids of restarted siblings are gone.
        for (const char* n : {"a", "b", "c"})
          if (changed[n]) CHECK(all_gone({before[n]}, 5000ms));
      }
    }
  }
}

SCENARIO_METHOD(runtime_fixture,
                "a nested supervisor that fails is restarted by its parent",
                "[supervisor][nested]") {
  GIVEN(
      "an outer supervisor over an inner one (intensity 1) whose child "
      "crashes twice, then stays up") {
    temp_dir dir;
    const auto counter = dir.file("runs");
    supervisor_spec inner;
    inner.name = "inner";
    inner.intensity = 1;
    inner.period = 30'000ms;
    inner.children = {sh("flaky", "n=$(cat " + counter +
                                      " 2>/dev/null || echo 0); n=$((n+1)); "
                                      "echo $n > " +
                                      counter +
                                      "; [ $n -le 2 ] && exit 1; exec sleep "
                                      "1000")};
    supervisor_spec outer;
    outer.name = "outer";
    outer.intensity = 5;
    outer.period = 30'000ms;
    outer.children = {inner, sleeper("steady")};
    auto sup = rt.supervise(outer);
    auto flaky = rt.find("flaky");
    auto steady = rt.find("steady");
    REQUIRE(flaky);
    REQUIRE(steady);
    WHEN("the second crash exceeds the inner intensity") {
      REQUIRE(settles_after(sup, 1));
      // One restart of its own; its third run is a start of the restarted
      // inner supervisor's, not a restart of flaky's (the refused one is
      // not counted).
      REQUIRE(reaches_when(flaky, [](const auto& s) {
        return s.status == process_status::running && s.restart_count == 1 &&
               s.last_exit.how == core::termination::kind::exited;
      }));
      THEN(
          "the inner supervisor failed, the outer restarted it once, and "
          "its child runs again") {
        CHECK(sup.read()->restarts == 1);
        CHECK(sup.read()->status == supervisor_status::running);
        // Running is published at spawn (startsecs 0), before the script
        // wrote its count.
        CHECK(eventually([&] { return read_file(counter) == "3\n"; }));
        const auto history = history_of(flaky);
        // running, backoff (restarted by inner), running, backoff, stopped
        // (inner failed and stopped it), running (outer restarted inner).
        std::vector<process_status> statuses;
        for (const auto& t : history) statuses.push_back(t.status);
        REQUIRE(statuses.size() == 6);
        CHECK(statuses == std::vector<process_status>{
                              process_status::running, process_status::backoff,
                              process_status::running, process_status::backoff,
                              process_status::stopped,
                              process_status::running});
        CHECK(pids_in_history(flaky).size() == 3);
        // one_for_one in the outer: its other child was left alone.
        CHECK(steady.read()->restart_count == 0);
        CHECK(pids_in_history(steady).size() == 1);
      }
    }
  }
}

TEST_CASE(
    "destroying the runtime while a nested supervisor keeps failing "
    "and being restarted leaves no child behind",
    "[supervisor][nested][shutdown]") {
  leak_checker leaks;
  std::vector<process_handle> handles;
  {
    runtime rt;
    supervisor_spec inner;
    inner.name = "doomed";
    inner.intensity = 1;
    inner.period = 30'000ms;
    inner.children = {sh("crash-loop", "exit 1"), sleeper("witness")};
    supervisor_spec outer;
    outer.name = "patient";
    outer.intensity = 1000;
    outer.period = 30'000ms;
    outer.children = {inner};
    auto sup = rt.supervise(outer);
    REQUIRE(settles_after(sup, 3));  // the inner one failed three times
    handles = {rt.find("crash-loop"), rt.find("witness")};
  }  // destroyed in the middle of the loop
  for (const auto& h : handles) {
    INFO(describe(*h.read()));
    CHECK(h.read()->status == process_status::stopped);
    CHECK(h.read()->pid == 0);
    check_no_process_left(h);
  }
}

TEST_CASE(
    "a supervisor's history has an entry per change of status or restart "
    "count: children added and commands applied add none",
    "[supervisor][history]") {
  leak_checker leaks;
  runtime rt;
  auto root = rt.root();
  REQUIRE(reaches(root, supervisor_status::running));
  const auto before = root.read()->history;
  REQUIRE(before);
  std::vector<process_handle> children;
  for (int i = 0; i < 20; ++i)
    children.push_back(rt.supervise(sleeper("child-" + std::to_string(i))));
  REQUIRE(root.set_intensity(100, 10s).wait_for_status(
      supervisor_status::running, in(patience)));
  auto now = root.read();
  CHECK(now->child_count == 20);
  CHECK(now->version > last_of(*before).version + 20);
  // Twenty children and a command later, the same transitions.
  REQUIRE(now->history);
  CHECK(now->history->size() == before->size());
  CHECK(last_of(*now->history).version == last_of(*before).version);

  // A one_for_one restart is one: running, one more restart.
  REQUIRE(reaches(children.front(), process_status::running));
  REQUIRE(children.front().signal(SIGKILL));
  REQUIRE(eventually([&] { return root.read()->restarts == 1; }));
  now = root.read();
  REQUIRE(now->history->size() == before->size() + 1);
  CHECK(last_of(*now->history).status == supervisor_status::running);
  CHECK(last_of(*now->history).restarts == 1);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a stopped group stays stopped through its parent's stop, "
                 "and still stops a child started on its own",
                 "[stop][supervisor]") {
  supervisor_spec group;
  group.name = "group";
  group.children = {sleeper("a"), sleeper("b")};
  supervisor_spec top;
  top.name = "top";
  top.children = {group};
  auto sup = rt.supervise(top);
  auto g = rt.find_supervisor("group");
  REQUIRE(g.wait_for_status(supervisor_status::running, in(20s)));
  REQUIRE(g.stop().wait_for_status(supervisor_status::stopped, in(20s)));
  const auto stopped_as = last_of(*g.read()->history).number;
  auto a = rt.find("a");
  SECTION("no child runs") {
    REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(20s)));
  }
  SECTION("a child started by its own command runs") {
    REQUIRE(a.start().wait_for_status(process_status::running, in(20s)));
    REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(20s)));
  }
  SECTION("the group's own stop command, a child started since running") {
    REQUIRE(a.start().wait_for_status(process_status::running, in(20s)));
    // The status stays `stopped`: the wait ends once the stop is done, not
    // when the command arrives (a waiter would see `stopped` at once).
    REQUIRE(g.stop().wait_for_status(supervisor_status::stopped, in(20s)));
  }
  CHECK(a.read()->status == process_status::stopped);
  check_no_process_left(a);
  // Before: `shutting_down`, then `stopped` again.
  const auto now = g.read();
  CHECK(now->status == supervisor_status::stopped);
  CHECK(last_of(*now->history).number == stopped_as);
}
