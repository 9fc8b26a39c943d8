// Reading through process handles at the edges: empty handles, many live
// views on one thread, and what a messaging-mode handle reads after the
// runtime is gone.
#include <chrono>
#include <csignal>
#include <cstddef>
#include <fstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"
#include "vitrine/baseline/messaging.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;

namespace {

/// Waits (10 s at most) until `sig` is in the mask `field` ("SigIgn:",
/// "SigCgt:") of /proc/<pid>/status: a shell's trap is in place (a
/// process is published running at exec, before its script runs).
bool signal_set_in(pid_t pid, const std::string& field, int sig) {
  const auto has = [&] {
    std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
    for (std::string line; std::getline(status, line);)
      if (line.rfind(field, 0) == 0)
        return ((std::stoull(line.substr(field.size()), nullptr, 16) >>
                 (sig - 1)) &
                1) != 0;
    return false;
  };
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!has() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  return has();
}

/// Kills `h` and waits (5 s at most) until it is stopped.
bool killed(const process_handle& h) {
  auto cmd = h.kill();
  return cmd && cmd.wait_until(
                    [](const core::process_state& s) {
                      return s.status == process_status::stopped;
                    },
                    in(5s));
}

}  // namespace

TEST_CASE_METHOD(runtime_fixture,
                 "an empty handle's reads throw empty_handle_error, its "
                 "commands send nothing and its accessors do not crash",
                 "[handle]") {
  auto unknown = rt.find("unknown");
  CHECK_FALSE(unknown);
  CHECK_THROWS_AS(unknown.read(), empty_handle_error);
  CHECK_THROWS_AS(unknown.history(), empty_handle_error);
  CHECK_THROWS_AS(unknown.wait_for_status(process_status::running, in(1ms)),
                  empty_handle_error);
  CHECK(unknown.name().empty());
  CHECK(unknown.messages_handled() == 0);
  process_handle empty;
  CHECK_THROWS_AS(empty.read(), empty_handle_error);
  CHECK_THROWS_WITH(empty.read(), Catch::Contains("empty process_handle"));
  // Commands on an empty handle send nothing (they used to dereference it).
  CHECK_FALSE(empty.start());
  CHECK_FALSE(unknown.restart());
  CHECK_FALSE(unknown.stop());
  CHECK_FALSE(unknown.signal(SIGTERM));
  // The same for an empty supervisor handle.
  auto no_supervisor = rt.find_supervisor("unknown");
  CHECK_FALSE(no_supervisor);
  CHECK(no_supervisor.name().empty());
  CHECK_THROWS_AS(no_supervisor.read(), empty_handle_error);
  CHECK_THROWS_AS(
      no_supervisor.wait_for_status(core::supervisor_status::running, in(1ms)),
      empty_handle_error);
  CHECK_FALSE(no_supervisor.start());
  CHECK_FALSE(no_supervisor.stop());
  CHECK(no_supervisor.remove_child("x").outcome() ==
        change_outcome::supervisor_gone);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a command's wait_for(timeout) waits as wait_until does",
                 "[handle]") {
  auto h = rt.supervise(sh("waited", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  const auto stop = h.stop();
  REQUIRE(stop.wait_for(patience));
  CHECK(h.read()->applied_command >= stop.ticket());
  const auto start = rt.root().start();  // running already: applied at once
  REQUIRE(start.wait_for(patience));
  CHECK(rt.root().read()->applied_command >= start.ticket());
  CHECK_FALSE(process_command{}.wait_for(1ms));  // not sent
  CHECK_FALSE(supervisor_command{}.wait_for(1ms));
}

namespace {
// Takes `count` views of three real processes on this thread, restarts the
// processes, frees what the reclaimer may, and checks that every view still
// shows the snapshot it was taken from, intact; then that reads move on.
void check_views_outlive_restarts(runtime& rt, const std::string& prefix,
                                  std::size_t count) {
  std::vector<process_handle> handles;
  for (int i = 0; i < 3; ++i)
    handles.push_back(
        rt.supervise(sh(prefix + std::to_string(i), "exec sleep 30")));
  for (auto& h : handles) REQUIRE(reaches(h, process_status::running));
  std::vector<pid_t> old_pids;
  for (auto& h : handles) old_pids.push_back(h.read()->pid);
  // Views are movable (within their thread): a vector of them grows.
  std::vector<state_view<core::process_state>> views;
  for (std::size_t i = 0; i < count; ++i)
    views.push_back(handles[i % 3].read());
  for (auto& h : handles) REQUIRE(h.restart());
  for (std::size_t k = 0; k < handles.size(); ++k)
    REQUIRE(reaches_when(handles[k], [&](const core::process_state& s) {
      return s.status == process_status::running && s.pid != old_pids[k];
    }));
  core::hazard_pointer_reclaimer::reclaim_now();
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& s = *views[i];
    CHECK(s.status == process_status::running);
    CHECK(s.name() == handles[i % 3].name());
    CHECK(s.pid == old_pids[i % 3]);
  }
  views.clear();
  for (std::size_t k = 0; k < handles.size(); ++k) {
    const auto s = handles[k].read();
    CHECK(s->status == process_status::running);
    CHECK(s->pid != old_pids[k]);
  }
}
}  // namespace

TEST_CASE_METHOD(runtime_fixture,
                 "a hundred live views of real processes on one thread all "
                 "read correctly",
                 "[handle][hybrid]") {
  check_views_outlive_restarts(rt, "viewed", 100);
}

// Every messaging read publishes its answer in the thread's cell of asked
// copies, retiring the previous one: the views must keep theirs alive.
TEST_CASE(
    "messaging views stay intact while later asks on the thread replace "
    "the copy they were made from",
    "[handle][messaging]") {
  leak_checker leaks;
  runtime rt{runtime_options{.reads = &baseline::messaging_reads()}};
  check_views_outlive_restarts(rt, "asked", 30);
}

TEST_CASE("a messaging-mode handle reads the last state after shutdown",
          "[handle][messaging]") {
  leak_checker leaks;
  std::uint64_t last_version = 0;
  process_handle h;
  {
    runtime rt{runtime_options{.reads = &baseline::messaging_reads()}};
    h = rt.supervise(sh("asked", "exec sleep 30"));
    REQUIRE(reaches(h, process_status::running));
    CHECK(h.read()->version > 0);
    rt.shutdown();
    const auto s = h.read();
    CHECK(s->status == process_status::stopped);
    last_version = s->version;
    CHECK(last_version > 0);
  }
  const auto s = h.read();  // the runtime is destroyed too
  CHECK(s->version == last_version);
  CHECK(s->status == process_status::stopped);
  CHECK(s->name() == "asked");
}

// Under messaging a record's cells hold shared defaults while its actor
// lives (nobody reads them then): the actor leaves its state there as it
// quits, even one it never changed.
TEST_CASE(
    "a messaging-mode process that never started reads its own state after "
    "shutdown",
    "[handle][messaging]") {
  leak_checker leaks;
  process_handle h;
  {
    runtime rt{runtime_options{.reads = &baseline::messaging_reads()}};
    auto spec = sh("idle", "exec sleep 30");
    spec.autostart = false;
    h = rt.supervise(std::move(spec));
    CHECK(h.read()->name() == "idle");  // asked of the actor
    CHECK(h.history()->empty());        // nothing published while it lives
    rt.shutdown();
  }
  const auto s = h.read();
  CHECK(s->name() == "idle");
  CHECK(s->status == process_status::stopped);
  CHECK(s->pid == 0);
}

TEST_CASE(
    "under the messaging baseline every read path asks an actor: process and "
    "supervisor states, find, for_each and the name check",
    "[handle][messaging]") {
  leak_checker leaks;
  runtime rt{runtime_options{.reads = &baseline::messaging_reads()}};
  CHECK(rt.reads().name() == "messaging");
  CHECK_FALSE(rt.reads().reads_published());
  auto h = rt.supervise(sh("asked", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  CHECK(&h.reads() == &rt.reads());

  // Each read is a request the process actor handles.
  const auto before = h.messages_handled();
  CHECK(h.read()->status == process_status::running);
  CHECK(h.messages_handled() == before + 1);

  // The root publishes nothing while it lives (its cell still holds the
  // initial state, no children): a child count of 1 was asked of the actor.
  CHECK(rt.root().read()->child_count == 1);
  CHECK(rt.root().wait_for_status(core::supervisor_status::running, in(5s)));

  // Lookups ask the directory actor, which knows every registered name.
  CHECK(rt.find("asked").read()->pid == h.read()->pid);
  CHECK_FALSE(rt.find("unknown"));
  std::vector<std::string> names;
  rt.for_each([&](const process_handle& p) { names.emplace_back(p.name()); });
  CHECK(names == std::vector<std::string>{"asked"});
  CHECK_THROWS_AS(rt.supervise(sh("asked", "exec sleep 30")), spec_error);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a moved view keeps its snapshot and a view can be "
                 "reassigned to a newer one",
                 "[handle][hybrid]") {
  auto h = rt.supervise(sh("moved", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  auto view = h.read();
  const pid_t first_pid = view->pid;
  auto moved = std::move(view);
  REQUIRE(h.restart().wait_until(
      [&](const core::process_state& s) {
        return s.status == process_status::running && s.pid != first_pid;
      },
      in(10s)));
  CHECK(moved->pid == first_pid);  // the old snapshot, still intact
  CHECK(moved->name() == "moved");
  moved = h.read();
  CHECK(moved->pid != first_pid);
  auto sup = rt.root().read();  // the same view type for supervisors
  static_assert(
      std::is_same_v<decltype(sup), state_view<core::supervisor_state>>);
  CHECK(sup->child_count == 1);
}

TEST_CASE(
    "a messaging-mode view keeps its copy while later reads retire and "
    "free others",
    "[handle][messaging]") {
  leak_checker leaks;
  runtime rt{runtime_options{.reads = &baseline::messaging_reads()}};
  auto h = rt.supervise(sh("copied", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  const auto held = h.read();  // a copy, made a snapshot of its own
  const auto version = held->version;
  const pid_t pid = held->pid;
  // Each read retires its copy at once (its view's guard keeps it): enough
  // of them for this thread to scan, and free, several times meanwhile.
  using hp = core::hazard_pointer_reclaimer;
  const auto scans_before = hp::scans();
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < 3 * hp::scan_threshold(); ++i)
    if (h.read()->pid != pid) ++wrong;
  CHECK(wrong == 0);
  CHECK(hp::scans() > scans_before);
  CHECK(held->version == version);
  CHECK(held->pid == pid);
  CHECK(held->name() == "copied");
  CHECK(held->status == process_status::running);
}

TEST_CASE_METHOD(runtime_fixture,
                 "signal() refuses a number that is no signal and reaches the "
                 "program's process group otherwise",
                 "[handle]") {
  auto h = rt.supervise(sh("signalled",
                           "trap 'exit 7' USR1; while :; do sleep "
                           "0.05; done"));
  REQUIRE(reaches(h, process_status::running));
  REQUIRE(signal_set_in(h.read()->pid, "SigCgt:", SIGUSR1));  // trap set
  CHECK_FALSE(h.signal(0));
  CHECK_FALSE(h.signal(-1));
  CHECK_FALSE(h.signal(999));
  CHECK_FALSE(h.signal(NSIG));
  // Nothing was sent: the program is still the one that started.
  const pid_t pid = h.read()->pid;
  std::this_thread::sleep_for(100ms);
  CHECK(h.read()->pid == pid);
  CHECK(h.read()->status == process_status::running);
  REQUIRE(h.signal(SIGUSR1));
  REQUIRE(reaches_when(h, [&](const core::process_state& s) {
    return s.last_exit.how == core::termination::kind::exited &&
           s.last_exit.value == 7;
  }));
}

TEST_CASE_METHOD(runtime_fixture,
                 "kill() sends SIGKILL only: a program its stop signal would "
                 "end at once still ends with signal 9",
                 "[handle]") {
  // `sleep` dies of SIGTERM at once: with the stop signal sent first (as
  // kill() did), it ended `signal 15` before the SIGKILL arrived.
  for (int round = 0; round < 3; ++round) {
    std::string name = "plain";  // appended: GCC 12 -O2 misfires on "+"
    name += std::to_string(round);
    auto spec = sh(name, "exec sleep 1000");
    auto h = rt.supervise(spec);
    REQUIRE(reaches(h, process_status::running));
    REQUIRE(killed(h));
    const auto s = h.read();
    CHECK(s->last_exit.how == core::termination::kind::signaled);
    CHECK(s->last_exit.value == SIGKILL);
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "kill() stops at once, without waiting for stop_timeout, and "
                 "the exit is no crash to restart",
                 "[handle]") {
  auto spec = sh("stubborn", "trap '' TERM; while :; do sleep 0.05; done");
  spec.stop_timeout = std::chrono::minutes{10};
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::running));
  const pid_t pid = h.read()->pid;
  // `running` is published at exec: wait until the shell ignores TERM, so
  // only the SIGKILL can end it.
  REQUIRE(signal_set_in(pid, "SigIgn:", SIGTERM));
  REQUIRE(killed(h));
  const auto s = h.read();
  CHECK(s->last_exit.how == core::termination::kind::signaled);
  CHECK(s->last_exit.value == SIGKILL);
  CHECK(s->restart_count == 0);
  CHECK(::kill(pid, 0) != 0);
  // Stopped stays stopped: nothing restarts it.
  std::this_thread::sleep_for(200ms);
  CHECK(h.read()->status == process_status::stopped);
  CHECK(h.start());  // and it can be started again
  REQUIRE(reaches(h, process_status::running));
  // Killed again: the runtime's stop at teardown would wait 10 minutes.
  REQUIRE(killed(h));
}
