// The runtime facade: supervise, read lock-free, stop, history, validation.
#include "vitrine/runtime.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "support/piped_child.hpp"
#include "test_support.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/os/subreaper.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::termination;

TEST_CASE_METHOD(runtime_fixture,
                 "a supervised process runs, is read without messages, and "
                 "stops",
                 "[runtime]") {
  auto h = rt.supervise(sh("sleeper", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  const auto pid = h.read()->pid;
  CHECK(pid > 0);
  CHECK(rt.find("sleeper").read()->pid == pid);
  const auto before = h.messages_handled();
  for (int i = 0; i < 1'000'000; ++i) REQUIRE(h.read()->pid == pid);
  CHECK(h.messages_handled() == before);
  REQUIRE(h.stop());
  REQUIRE(reaches(h, process_status::stopped));
  auto s = h.read();
  CHECK(s->pid == 0);
  CHECK(s->last_exit == termination{termination::kind::signaled, SIGTERM});
  // A second stop of a stopped process changes nothing but the ticket it
  // publishes as applied.
  const auto version = s->version;
  const auto again = h.stop();
  REQUIRE(again.wait_until(in(patience)));
  auto after = h.read();
  CHECK(after->version == version + 1);
  CHECK(after->applied_command == again.ticket());
  CHECK(after->status == process_status::stopped);
  CHECK(after->last_exit == termination{termination::kind::signaled, SIGTERM});
  REQUIRE(h.start().wait_for_status(process_status::running, in(patience)));
}

TEST_CASE_METHOD(runtime_fixture,
                 "two threads reading a million states each never message "
                 "the owning actor",
                 "[runtime][hybrid]") {
  auto h = rt.supervise(sh("steady", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  const auto pid = h.read()->pid;
  const auto before = h.messages_handled();
  std::atomic<long> mismatches{0};
  auto reader = [&] {
    long bad = 0;
    for (int i = 0; i < 1'000'000; ++i) {
      auto s = h.read();
      if (s->pid != pid || s->status != process_status::running) ++bad;
    }
    mismatches += bad;
  };
  std::thread first{reader};
  std::thread second{reader};
  first.join();
  second.join();
  CHECK(mismatches == 0);
  CHECK(h.messages_handled() == before);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a transient process that exits 0 is not restarted",
                 "[runtime]") {
  auto spec = sh("once", "exit 0");
  spec.restart = restart_policy::transient;
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::exited));
  CHECK(h.read()->restart_count == 0);
  CHECK(h.read()->last_exit == termination{termination::kind::exited, 0});
}

TEST_CASE_METHOD(runtime_fixture,
                 "a permanent process that crashes is restarted with a new "
                 "pid",
                 "[runtime]") {
  auto h = rt.supervise(sh("crasher", "sleep 0.05; exit 3"));
  REQUIRE(reaches_when(h, [](const auto& s) { return s.restart_count >= 2; }));
  CHECK(h.read()->last_exit == termination{termination::kind::exited, 3});
  CHECK(pids_in_history(h).size() >= 2);
}

SCENARIO_METHOD(runtime_fixture,
                "the history lists the recent transitions oldest first, "
                "bounded by its capacity",
                "[runtime][history]") {
  constexpr auto capacity = core::transition_history::capacity;
  GIVEN("a process that started and stopped once") {
    auto spec = sh("brief", "exec sleep 30");
    spec.startsecs = 50ms;  // so that it goes through starting
    auto h = rt.supervise(spec);
    REQUIRE(reaches(h, process_status::running));
    REQUIRE(h.stop());
    REQUIRE(reaches(h, process_status::stopped));
    THEN("its history is starting, running, stopping, stopped") {
      const auto history = history_of(h);
      REQUIRE(history.size() == 4);
      CHECK(history[0].status == process_status::starting);
      CHECK(history[1].status == process_status::running);
      CHECK(history[2].status == process_status::stopping);
      CHECK(history[3].status == process_status::stopped);
      CHECK(history[0].pid == history[2].pid);
      CHECK(history[3].pid == 0);
      CHECK(history[3].last_exit ==
            termination{termination::kind::signaled, SIGTERM});
      for (std::size_t i = 1; i < history.size(); ++i) {
        CHECK(history[i].version == history[i - 1].version + 1);
        CHECK(history[i].at >= history[i - 1].at);
      }
      CHECK(history.back().version == h.read()->version);
    }
  }
  GIVEN("a process that went through many more transitions than that") {
    auto spec = sh("churner", "exit 1");
    spec.backoff.min = 1ms;
    spec.backoff.multiplier = 1.0;
    auto h = rt.supervise(spec);
    REQUIRE(reaches_when(
        h, [](const auto& s) { return s.restart_count >= capacity + 2; }));
    REQUIRE(h.stop());
    REQUIRE(reaches(h, process_status::stopped));
    const auto last = h.read()->version;
    REQUIRE(last > 2 * capacity);
    THEN(
        "only the last ones are kept, oldest first, ending with the "
        "current state") {
      const auto history = history_of(h);
      REQUIRE(history.size() == capacity);
      CHECK(history.back().version == last);
      CHECK(history.back().status == process_status::stopped);
      CHECK(history.front().version == last - (capacity - 1));
      for (std::size_t i = 1; i < history.size(); ++i)
        CHECK(history[i].version == history[i - 1].version + 1);
    }
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "supervise() rejects a missing program up front, naming "
                 "launch.argv[0], and starts nothing",
                 "[runtime][validation]") {
  auto spec = sh("ghost", "true");
  spec.launch.argv = {"/nonexistent/vitrine-ghost", "--flag"};
  try {
    rt.supervise(spec);
    FAIL("supervise() accepted a spec whose program does not exist");
  } catch (const spec_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("launch.argv[0]") != std::string::npos);
    CHECK(what.find("/nonexistent/vitrine-ghost") != std::string::npos);
    REQUIRE(e.problems().size() == 1);
    CHECK(e.problems()[0].field == "ghost.launch.argv[0]");
  }
  CHECK_FALSE(rt.find("ghost"));
  CHECK(rt.root().read()->child_count == 0);
}

TEST_CASE_METHOD(runtime_fixture,
                 "supervise() refuses a cgroup given in the spec: the runtime "
                 "places every program",
                 "[runtime][validation]") {
  // An outside tester set launch.cgroup and saw it dropped without a word.
  auto spec = sh("placed", "exec sleep 30");
  spec.launch.cgroup = "/sys/fs/cgroup/elsewhere";
  spec.launch.cgroup_killed = true;
  try {
    rt.supervise(spec);
    FAIL("supervise() accepted a spec with launch.cgroup set");
  } catch (const spec_error& e) {
    INFO(e.what());
    REQUIRE(e.problems().size() == 2);
    CHECK(e.problems()[0].field == "placed.launch.cgroup");
    CHECK(e.problems()[1].field == "placed.launch.cgroup_killed");
  }
  CHECK_FALSE(rt.find("placed"));
}

TEST_CASE_METHOD(runtime_fixture,
                 "a second process with a taken name is refused",
                 "[runtime][validation]") {
  auto h = rt.supervise(sh("twin", "exec sleep 30"));
  CHECK_THROWS_AS(rt.supervise(sh("twin", "exec sleep 30")), spec_error);
  REQUIRE(reaches(h, process_status::running));
}

TEST_CASE("shutdown is idempotent and later commands report failure",
          "[runtime]") {
  leak_checker leaks;
  runtime rt;
  auto h = rt.supervise(sh("short", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  const pid_t pid = h.read()->pid;
  rt.shutdown();
  rt.shutdown();
  CHECK(gone(pid));
  CHECK(h.read()->status == process_status::stopped);
  CHECK_FALSE(h.start());
  CHECK_FALSE(h.stop());
  CHECK_THROWS_AS(rt.supervise(sh("late", "true")), std::runtime_error);
}

TEST_CASE(
    "the last runtime with subreaper gives the attribute back: the "
    "host's later orphans are not adopted by a host nobody reaps for",
    "[runtime][orphans]") {
  REQUIRE_FALSE(os::is_subreaper());
  runtime_options options;
  options.subreaper = true;
  {
    runtime first{options};
    CHECK(os::is_subreaper());
    { runtime second{options}; }
    CHECK(os::is_subreaper());  // the first one still adopts
  }
  // Before: the host stayed a subreaper, its SIGCHLD back at the default,
  // and every orphan of its descendants became its zombie for good.
  CHECK_FALSE(os::is_subreaper());
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // async-signal-safe calls only
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      ::pause();
      ::_exit(0);
    }
    const bool told = ::write(fds[1], &grandchild, sizeof grandchild) ==
                      static_cast<ssize_t>(sizeof grandchild);
    ::_exit(told && grandchild > 0 ? 0 : 1);
  }
  ::close(fds[1]);
  pid_t grandchild = 0;
  const bool read_it = ::read(fds[0], &grandchild, sizeof grandchild) ==
                       static_cast<ssize_t>(sizeof grandchild);
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(read_it);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const auto entry = os::read_proc_entry(grandchild);  // the child has exited
  ::kill(grandchild, SIGKILL);
  REQUIRE(entry);
  CHECK(entry->ppid != ::getpid());
}

TEST_CASE(
    "begin_shutdown() ends a supervise() that waits for a child's "
    "startsecs, of a tree or of a process",
    "[runtime][shutdown]") {
  runtime rt;
  const bool tree = GENERATE(true, false);
  INFO((tree ? "a tree" : "a process"));
  auto slow = [](std::string name) {
    auto spec = sh(std::move(name), "exec sleep 60");
    spec.startsecs = 30s;  // long past the wait below
    return spec;
  };
  supervisor_spec spec;
  spec.name = "slow";
  for (const char* name : {"k0", "k1"}) spec.children.push_back(slow(name));
  auto returned = std::async(std::launch::async, [&] {
    if (tree)
      rt.supervise(spec);
    else
      rt.supervise(slow("k0"));
  });
  REQUIRE(eventually([&] {
    const auto k0 = rt.find("k0");
    return k0 && k0.read()->status == process_status::starting;
  }));
  rt.begin_shutdown();
  // Before: supervise() returned once k0's startsecs ran out (30 s).
  REQUIRE(returned.wait_for(patience / 2) == std::future_status::ready);
  returned.get();
  if (tree) CHECK(rt.find("k1").read()->status == process_status::stopped);
  rt.shutdown();
  CHECK(rt.find("k0").read()->status == process_status::stopped);
}

TEST_CASE(
    "begin_shutdown() during a tree's start stops a child waiting in "
    "its backoff; it does not end it `exited`",
    "[runtime][shutdown]") {
  runtime rt;
  auto crasher = sh("crasher", "exit 1");
  crasher.startsecs = 0ms;
  crasher.backoff.min = 20s;  // in backoff throughout
  auto slow = sh("slow", "exec sleep 60");
  slow.startsecs = 30s;  // the start waits for it
  supervisor_spec spec;
  spec.name = "starting";
  spec.children = {crasher, slow};
  auto returned =
      std::async(std::launch::async, [&] { return rt.supervise(spec); });
  REQUIRE(eventually([&] {
    const auto c = rt.find("crasher"), s = rt.find("slow");
    return c && s && c.read()->status == process_status::backoff &&
           s.read()->status == process_status::starting;
  }));
  rt.begin_shutdown();
  REQUIRE(returned.wait_for(patience / 2) == std::future_status::ready);
  // Its report, left until the cancelled start ended, met a supervisor
  // that was not running: before, it was told to end `exited`.
  const auto c = rt.find("crasher");
  REQUIRE(
      eventually([&] { return c.read()->status != process_status::backoff; }));
  CHECK(c.read()->status == process_status::stopped);
  rt.shutdown();
  CHECK(c.read()->status == process_status::stopped);
}

TEST_CASE("a runtime made and used on one thread can be destroyed on another",
          "[runtime][stop]") {
  // CAF keeps, per thread, a reference to the actor system's logger, set
  // by each spawn and scoped_actor made there, and ~actor_system waits
  // for every one: a runtime built on a host's main thread and destroyed
  // on another waited forever (an outside tester, 2026-12-06). In a
  // helper process: a hang there is a failure here, not a hung test.
  const std::vector<std::vector<std::string>> variants{
      {"destroy_elsewhere"},
      {"destroy_elsewhere", "shutdown_here"},
      {"destroy_elsewhere", "serve"},
  };
  for (const auto& flags : variants) {
    std::vector<std::string> argv{VITRINE_HOST_HELPER, "1", "sleep", "0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    INFO(argv.back());
    piped_child host{argv};
    REQUIRE(host.read_until("ready\n", std::chrono::milliseconds{30'000}));
    const bool destroyed =
        host.read_until("destroyed\n", std::chrono::milliseconds{20'000})
            .has_value();
    CHECK(destroyed);
    if (destroyed) host.reap();  // else piped_child kills it
  }
}

TEST_CASE(
    "supervise() after begin_shutdown() adds a process without starting "
    "it, and a tree stopped, its children listed; after shutdown() it "
    "throws",
    "[runtime][shutdown]") {
  runtime rt;
  rt.begin_shutdown();
  auto p = rt.supervise(sh("late", "exec sleep 60"));
  CHECK(p.read()->status == process_status::stopped);
  CHECK(p.read()->pid == 0);
  supervisor_spec tree;
  tree.name = "late_tree";
  tree.children.push_back(sh("late_child", "exec sleep 60"));
  auto t = rt.supervise(tree);
  REQUIRE(t);
  // Before: its supervisor was never told to start or stop and read
  // `starting` until shutdown(), its children not even added.
  CHECK(t.read()->status == core::supervisor_status::stopped);
  CHECK(t.read()->child_count == 1);
  const auto child = rt.find("late_child");
  REQUIRE(child);
  CHECK(child.read()->status == process_status::stopped);
  CHECK(child.read()->pid == 0);
  // A handle's add_child of a tree meanwhile: the same.
  supervisor_spec nested;
  nested.name = "nested_tree";
  nested.children.push_back(sh("nested_child", "exec sleep 60"));
  auto change = t.add_child(nested);
  REQUIRE(change.wait_for(patience));
  REQUIRE(change.supervisor());
  CHECK(change.supervisor().read()->status == core::supervisor_status::stopped);
  REQUIRE(rt.find("nested_child"));
  CHECK(rt.find("nested_child").read()->status == process_status::stopped);
  rt.shutdown();
  CHECK(t.read()->status == core::supervisor_status::stopped);
  CHECK_THROWS_AS(rt.supervise(sh("later", "exec sleep 60")),
                  std::runtime_error);
}

TEST_CASE(
    "a tree added by a handle behind another start when begin_shutdown() "
    "came reads stopped, not starting",
    "[runtime][shutdown]") {
  runtime rt;
  auto slow = sh("slow", "exec sleep 60");
  slow.startsecs = 30s;  // holds the root's queue
  auto first =
      std::async(std::launch::async, [&] { return rt.supervise(slow); });
  REQUIRE(eventually([&] {
    const auto s = rt.find("slow");
    return s && s.read()->status == process_status::starting;
  }));
  supervisor_spec tree;
  tree.name = "queued_tree";
  tree.children.push_back(sh("queued_child", "exec sleep 60"));
  // Queued behind slow's start; its start is sent once that one ends.
  auto change = rt.root().add_child(tree);
  rt.begin_shutdown();
  REQUIRE(first.wait_for(patience / 2) == std::future_status::ready);
  REQUIRE(change.wait_for(patience / 2));
  const auto t = change.supervisor();
  REQUIRE(t);
  // Before: its start, sent after begin_shutdown(), was cancelled before
  // it started anything, and it read `starting` until shutdown().
  CHECK(t.read()->status == core::supervisor_status::stopped);
  REQUIRE(rt.find("queued_child"));
  CHECK(rt.find("queued_child").read()->status == process_status::stopped);
  rt.shutdown();
}
