// Changing a running supervisor's children through its handle: add_child,
// remove_child, replace_child (OTP's start_child, terminate_child +
// delete_child), with real processes.
#include <signal.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "test_support.hpp"
#include "vitrine/baseline/messaging.hpp"
#include "vitrine/child_change.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::supervisor_status;

namespace {

process_spec sleeper(std::string name) {
  return sh(std::move(name), "exec sleep 1000");
}

supervisor_spec tree(
    std::string name, std::vector<child_spec> children,
    restart_strategy strategy = restart_strategy::one_for_one) {
  supervisor_spec spec;
  spec.name = std::move(name);
  spec.strategy = strategy;
  spec.intensity = 1000;
  spec.period = 1000ms;
  spec.children = std::move(children);
  return spec;
}

/// Waits for the change and checks it was applied.
bool applied(const child_change& change) {
  if (!change.wait_for(patience)) {
    UNSCOPED_INFO("change still pending");
    return false;
  }
  UNSCOPED_INFO("outcome " << to_string(change.outcome()) << ": "
                           << change.error());
  return change.outcome() == change_outcome::done;
}

pid_t pid_of(const process_handle& h) {
  return h.read()->pid;
}

/// Every pid the process had is gone, and nothing is left in its groups.
void check_no_process_left(const process_handle& h) {
  const auto pids = pids_in_history(h);
  INFO(h.name() << " had " << pids.size() << " pid(s)");
  CHECK_FALSE(pids.empty());
  CHECK(all_gone(pids, 5000ms));
  for (pid_t pid : pids) CHECK(os::processes_in_group(pid).empty());
}

}  // namespace

TEST_CASE_METHOD(runtime_fixture,
                 "add_child appends a child and starts it; the others keep "
                 "their pids",
                 "[child_change][add]") {
  auto sup = rt.supervise(tree("app", {sleeper("a"), sleeper("b")}));
  auto a = rt.find("a");
  auto b = rt.find("b");
  REQUIRE(reaches(a, process_status::running));
  REQUIRE(reaches(b, process_status::running));
  const pid_t a_pid = pid_of(a), b_pid = pid_of(b);

  auto change = sup.add_child(sleeper("c"));
  REQUIRE(applied(change));
  auto c = rt.find("c");
  REQUIRE(c);
  CHECK(change.process().name() == "c");
  CHECK_FALSE(change.supervisor());
  // Applied once it left `starting` (startsecs 0: running).
  CHECK(c.read()->status == process_status::running);
  CHECK(sup.read()->child_count == 3);
  CHECK(pid_of(a) == a_pid);
  CHECK(pid_of(b) == b_pid);

  SECTION("a taken name is refused and nothing changes") {
    auto again = sup.add_child(sleeper("a"));
    REQUIRE(again.wait_for(patience));
    CHECK(again.outcome() == change_outcome::name_taken);
    CHECK(again.error().find("'a'") != std::string::npos);
    CHECK(sup.read()->child_count == 3);
    CHECK(pid_of(a) == a_pid);
    // A process name used under another supervisor is taken too.
    auto other = rt.supervise(sleeper("elsewhere"));
    auto clash = sup.add_child(tree("g", {sleeper("elsewhere")}));
    REQUIRE(clash.wait_for(patience));
    CHECK(clash.outcome() == change_outcome::name_taken);
    // So is a supervisor name used anywhere in the runtime, nested too.
    auto top = rt.supervise(tree("top", {sleeper("t")}));
    auto twin = sup.add_child(tree("g2", {tree("top", {sleeper("u")})}));
    REQUIRE(twin.wait_for(patience));
    CHECK(twin.outcome() == change_outcome::name_taken);
    CHECK(twin.error().find("supervisor named 'top'") != std::string::npos);
    CHECK_FALSE(rt.find("u"));
    CHECK_FALSE(rt.find_supervisor("g2"));
    CHECK(rt.find_supervisor("top").read()->child_count == 1);
    CHECK(sup.read()->child_count == 3);
    // One namespace for both kinds, as validate() has within a tree
    // (before, a process could take a supervisor's name and back).
    auto as_process = sup.add_child(sleeper("top"));
    REQUIRE(as_process.wait_for(patience));
    CHECK(as_process.outcome() == change_outcome::name_taken);
    CHECK(as_process.error().find("supervisor named 'top'") !=
          std::string::npos);
    auto as_tree = sup.add_child(tree("t", {sleeper("v")}));
    REQUIRE(as_tree.wait_for(patience));
    CHECK(as_tree.outcome() == change_outcome::name_taken);
    CHECK(as_tree.error().find("process named 't'") != std::string::npos);
    CHECK_THROWS_AS(rt.supervise(sleeper("app")), spec_error);
    CHECK_THROWS_AS(rt.supervise(tree("a", {sleeper("w")})), spec_error);
    CHECK_FALSE(rt.find("w"));
    CHECK(sup.read()->child_count == 3);
  }
  SECTION("a nested tree is added and started as a whole") {
    auto group = sup.add_child(tree("g", {sleeper("x"), sleeper("y")}));
    REQUIRE(applied(group));
    REQUIRE(group.supervisor());
    CHECK(group.supervisor().read()->status == supervisor_status::running);
    CHECK(reaches(rt.find("x"), process_status::running));
    CHECK(reaches(rt.find("y"), process_status::running));
    CHECK(rt.find_supervisor("g"));
  }
  SECTION("a stopped supervisor adds the child without starting it") {
    REQUIRE(
        sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
    auto late = sup.add_child(sleeper("late"));
    REQUIRE(applied(late));
    CHECK(late.process().read()->status == process_status::stopped);
    CHECK(late.process().read()->pid == 0);
    // The next start starts it, after the others.
    REQUIRE(
        sup.start().wait_for_status(supervisor_status::running, in(patience)));
    CHECK(reaches(late.process(), process_status::running));
  }
  SECTION("an invalid spec throws and sends nothing") {
    auto bad = sleeper("bad name!");
    CHECK_THROWS_AS(sup.add_child(bad), spec_error);
    CHECK(sup.read()->child_count == 3);
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "remove_child stops the child, forgets it, and frees its name",
                 "[child_change][remove]") {
  auto sup = rt.supervise(tree("app", {sleeper("a"), sleeper("b")}));
  auto a = rt.find("a");
  auto b = rt.find("b");
  REQUIRE(reaches(a, process_status::running));
  REQUIRE(reaches(b, process_status::running));
  const pid_t a_pid = pid_of(a), b_pid = pid_of(b);

  REQUIRE(applied(sup.remove_child("b")));
  // Gone: no process, no zombie, not findable, not listed.
  check_no_process_left(b);
  CHECK_FALSE(rt.find("b"));
  CHECK_FALSE(rt.find("b"));
  CHECK(sup.read()->child_count == 1);
  CHECK(pid_of(a) == a_pid);
  // The old handle still reads its last state; its commands are empty.
  CHECK(b.read()->status == process_status::stopped);
  CHECK(b.read()->pid == 0);
  CHECK(pids_in_history(b) == std::vector<pid_t>{b_pid});
  CHECK_FALSE(b.restart());

  SECTION("the name can be used again") {
    auto again = sup.add_child(sh("b", "exec sleep 999"));
    REQUIRE(applied(again));
    auto b2 = rt.find("b");
    REQUIRE(b2);
    CHECK(b2.identity().lock() != b.identity().lock());
    CHECK(reaches(b2, process_status::running));
    CHECK(pid_of(b2) != b_pid);
    CHECK(b.read()->status == process_status::stopped);  // the old record
  }
  SECTION("an unknown name is refused") {
    auto change = sup.remove_child("nope");
    REQUIRE(change.wait_for(patience));
    CHECK(change.outcome() == change_outcome::unknown_name);
    CHECK(change.error().find("'nope'") != std::string::npos);
  }
  SECTION("a nested tree is removed with every process in it") {
    auto group =
        sup.add_child(tree("g", {sleeper("x"), tree("inner", {sleeper("z")})}));
    REQUIRE(applied(group));
    auto x = rt.find("x");
    auto z = rt.find("z");
    REQUIRE(reaches(x, process_status::running));
    REQUIRE(reaches(z, process_status::running));
    REQUIRE(applied(sup.remove_child("g")));
    check_no_process_left(x);
    check_no_process_left(z);
    CHECK_FALSE(rt.find("x"));
    CHECK_FALSE(rt.find("z"));
    CHECK_FALSE(rt.find_supervisor("g"));
    CHECK_FALSE(rt.find_supervisor("inner"));
    // The removed supervisor's handle reads its last state.
    CHECK(group.supervisor().read()->status == supervisor_status::stopped);
    CHECK(pid_of(a) == a_pid);
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "replace_child restarts the child with the new spec in "
                 "place",
                 "[child_change][replace]") {
  // rest_for_one shows the position: a crash of the replaced child
  // restarts the children after it, not those before.
  auto sup =
      rt.supervise(tree("app", {sleeper("a"), sleeper("b"), sleeper("c")},
                        restart_strategy::rest_for_one));
  auto a = rt.find("a");
  auto b = rt.find("b");
  auto c = rt.find("c");
  REQUIRE(reaches(a, process_status::running));
  REQUIRE(reaches(b, process_status::running));
  REQUIRE(reaches(c, process_status::running));
  const pid_t a_pid = pid_of(a), b_pid = pid_of(b), c_pid = pid_of(c);

  temp_dir dir;
  const std::string marker = dir.file("b2.pid");
  auto change =
      sup.replace_child(sh("b", "echo $$ > " + marker + "; exec sleep 999"));
  REQUIRE(applied(change));
  auto b2 = change.process();
  REQUIRE(b2);
  CHECK(rt.find("b").identity().lock() == b2.identity().lock());
  CHECK(reaches(b2, process_status::running));
  CHECK(read_pid_file(marker) == pid_of(b2));
  CHECK(pid_of(b2) != b_pid);
  check_no_process_left(b);
  CHECK(pid_of(a) == a_pid);
  CHECK(pid_of(c) == c_pid);
  CHECK(sup.read()->child_count == 3);

  // Still in the middle: its crash restarts c, not a.
  const pid_t killed = pid_of(b2);
  REQUIRE(::kill(killed, SIGKILL) == 0);
  CHECK(reaches_when(c, [&](const core::process_state& s) {
    return s.status == process_status::running && s.pid != c_pid;
  }));
  CHECK(reaches_when(b2, [&](const core::process_state& s) {
    return s.status == process_status::running && s.pid != killed;
  }));
  CHECK(pid_of(a) == a_pid);

  SECTION("an unknown name is refused") {
    auto unknown = sup.replace_child(sleeper("nope"));
    REQUIRE(unknown.wait_for(patience));
    CHECK(unknown.outcome() == change_outcome::unknown_name);
  }
  SECTION("a replaced tree is removed with its processes") {
    REQUIRE(
        applied(sup.add_child(tree("g", {sleeper("in1"), sleeper("in2")}))));
    REQUIRE(applied(sup.replace_child(
        tree("g", {sleeper("in1"), sh("in2", "exec sleep 99")}))));
    REQUIRE(reaches(rt.find("in1"), process_status::running));
    auto in1 = rt.find("in1");
    REQUIRE(applied(sup.remove_child("g")));
    CHECK_FALSE(rt.find("in1"));
    CHECK_FALSE(rt.find("in2"));
    check_no_process_left(in1);
    REQUIRE(applied(sup.add_child(sleeper("in1"))));
  }
  SECTION("a process can become a tree of the same name") {
    auto group = sup.replace_child(tree("c", {sleeper("c1")}));
    REQUIRE(applied(group));
    CHECK_FALSE(rt.find("c"));
    CHECK(reaches(rt.find("c1"), process_status::running));
    CHECK(sup.read()->child_count == 3);
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "child changes never interleave with a sibling's restarts",
                 "[child_change][concurrent]") {
  // one_for_all: each crash of `crashy` is a restart operation (stop all,
  // start all) that the changes must queue behind, not cut through.
  auto sup = rt.supervise(
      tree("app", {sleeper("steady"), sh("crashy", "sleep 0.02; exit 1")},
           restart_strategy::one_for_all));
  auto crashy = rt.find("crashy");
  REQUIRE(reaches(crashy, process_status::running));
  const auto restarts_before = sup.read()->restarts;

  // Readers look the changing names up and read their states throughout:
  // a removed record stays alive while a reader holds it (hazard pointers
  // on the registry's tables, reference counts on the records).
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&] {
      while (!done.load(std::memory_order_relaxed)) {
        for (const char* name : {"extra0", "extra1"})
          if (auto h = rt.find(name)) {
            auto state = h.read();
            if (state->name() == name) ++reads;
          }
        rt.for_each([&](const process_handle& h) {
          if (h.read()->version > 0) ++reads;
        });
      }
    });

  std::vector<process_handle> removed;
  for (int round = 0; round < 8; ++round) {
    const std::string name = "extra" + std::to_string(round % 2);
    auto add = sup.add_child(sleeper(name));
    REQUIRE(applied(add));
    auto h = add.process();
    REQUIRE(reaches(h, process_status::running));
    auto remove = sup.remove_child(name);
    REQUIRE(applied(remove));
    CHECK_FALSE(rt.find(name));
    removed.push_back(h);
  }
  done = true;
  for (auto& t : readers) t.join();
  CHECK(reads.load() > 0);
  // The sibling restarted meanwhile, and keeps doing so.
  CHECK(
      eventually([&] { return sup.read()->restarts >= restarts_before + 3; }));
  CHECK(sup.read()->child_count == 2);
  for (const auto& h : removed) {
    check_no_process_left(h);
    CHECK(h.read()->status == process_status::stopped);
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "a stop ordered during a removal waits for it",
                 "[child_change][stop]") {
  auto sup = rt.supervise(tree("app", {sleeper("a"), sleeper("b")}));
  REQUIRE(reaches(rt.find("b"), process_status::running));
  auto b = rt.find("b");
  auto remove = sup.remove_child("b");
  auto stop = sup.stop();
  REQUIRE(applied(remove));
  REQUIRE(stop.wait_for_status(supervisor_status::stopped, in(patience)));
  CHECK(sup.read()->child_count == 1);
  check_no_process_left(b);
  CHECK(reaches(rt.find("a"), process_status::stopped));
}

TEST_CASE_METHOD(runtime_fixture,
                 "a stop during an add does not wait out the child's "
                 "startsecs",
                 "[child_change][stop]") {
  auto sup = rt.supervise(tree("app", {sleeper("a")}));
  REQUIRE(reaches(rt.find("a"), process_status::running));
  auto slow = sleeper("slow");
  slow.startsecs = std::chrono::minutes{5};
  auto add = sup.add_child(slow);
  REQUIRE(eventually([&] { return static_cast<bool>(rt.find("slow")); }));
  REQUIRE(reaches(rt.find("slow"), process_status::starting));
  const auto began = std::chrono::steady_clock::now();
  auto stop = sup.stop();
  // The add completes with the stop. Its caller (`vitrine run`'s reload)
  // reads the supervisor as soon as it hears, and must not see it running
  // on: before, the answer went out before `shutting_down` was published.
  REQUIRE(applied(add));
  const auto status = sup.read()->status;
  INFO("status " << to_string(status));
  CHECK((status == supervisor_status::shutting_down ||
         status == supervisor_status::stopped));
  // Before: the stop waited until `slow` left starting, 5 minutes on.
  REQUIRE(stop.wait_for_status(supervisor_status::stopped, in(patience)));
  CHECK(std::chrono::steady_clock::now() - began < patience);
  CHECK(sup.read()->child_count == 2);
  CHECK(reaches(rt.find("slow"), process_status::stopped));
  check_no_process_left(rt.find("slow"));
}

TEST_CASE_METHOD(runtime_fixture,
                 "a tree added to a stopped supervisor lists its children, "
                 "stopped, and starts with it",
                 "[child_change][add]") {
  auto sup = rt.supervise(tree("app", {sleeper("a")}));
  REQUIRE(reaches(rt.find("a"), process_status::running));
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
  auto add = sup.add_child(tree("late", {sleeper("late_a")}));
  REQUIRE(applied(add));
  const auto late = add.supervisor();
  REQUIRE(late);
  // Before: never told to start or stop, it read `starting` and had not
  // added its children.
  CHECK(late.read()->status == supervisor_status::stopped);
  const auto late_a = rt.find("late_a");
  REQUIRE(late_a);
  CHECK(late_a.read()->status == process_status::stopped);
  CHECK(late_a.read()->pid == 0);
  REQUIRE(
      sup.start().wait_for_status(supervisor_status::running, in(patience)));
  CHECK(reaches(late_a, process_status::running));
  CHECK(late.read()->status == supervisor_status::running);
}

TEST_CASE_METHOD(runtime_fixture,
                 "an autostart = false child added to a stopped supervisor "
                 "starts with the supervisor's next start",
                 "[child_change][add]") {
  // autostart keeps a child out of the start that adds it (the
  // supervisor's first, or a running supervisor's add): later starts of
  // the supervisor start every child. Added while the supervisor is
  // stopped, the add starts nothing; the next start is a later one.
  // (Before, that start skipped it: `vitrine run`'s reload into a stopped
  // tree, then `ctl start TOP`, left a changed program stopped.)
  auto sup = rt.supervise(tree("app", {sleeper("a")}));
  REQUIRE(reaches(rt.find("a"), process_status::running));
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
  auto held = sleeper("held");
  held.autostart = false;
  REQUIRE(applied(sup.add_child(held)));
  REQUIRE(
      sup.start().wait_for_status(supervisor_status::running, in(patience)));
  CHECK(reaches(rt.find("held"), process_status::running));
  // Added to the running supervisor, it is not started by the add.
  auto later = sleeper("later");
  later.autostart = false;
  REQUIRE(applied(sup.add_child(later)));
  CHECK(rt.find("later").read()->status == process_status::stopped);
}

TEST_CASE("a removed child leaves the status table and the directory",
          "[child_change][status_table]") {
  leak_checker leaks;
  temp_dir dir;
  const std::string path = dir.file("status");
  runtime_options options;
  options.status_table_path = path;
  options.reads =
      GENERATE(&read_policy::hybrid(), &baseline::messaging_reads());
  runtime rt{options};
  status_reader reader{path};
  auto sup =
      rt.supervise(tree("app", {sleeper("a"), tree("g", {sleeper("x")})}));
  REQUIRE(rt.find("x"));
  status_slot slot;
  REQUIRE(eventually([&] {
    return reader.find("x", slot) == status_error::none &&
           status_name(slot) == "running";
  }));
  REQUIRE(reader.find("g", slot) == status_error::none);

  REQUIRE(applied(sup.remove_child("g")));
  CHECK(reader.find("x", slot) == status_error::out_of_range);
  CHECK(reader.find("g", slot) == status_error::out_of_range);
  CHECK_FALSE(rt.find("x"));  // messaging: through the directory actor

  // A new process reuses the freed slot rather than growing the table.
  const auto used = reader.slot_count();
  REQUIRE(applied(sup.add_child(sleeper("x"))));
  CHECK(rt.find("x"));
  CHECK(eventually([&] {
    return reader.find("x", slot) == status_error::none &&
           status_name(slot) == "running";
  }));
  CHECK(reader.slot_count() == used);
}

TEST_CASE("a change after the runtime is gone reports it",
          "[child_change][gone]") {
  leak_checker leaks;
  supervisor_handle sup;
  {
    runtime rt{patient_root()};
    sup = rt.supervise(tree("app", {sleeper("a")}));
  }
  auto change = sup.add_child(sleeper("b"));
  CHECK(change.wait_for(0ms));
  CHECK(change.outcome() == change_outcome::supervisor_gone);
  CHECK(sup.remove_child("a").outcome() == change_outcome::supervisor_gone);
}
