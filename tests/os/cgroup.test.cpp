// Per-program cgroups: what a program's cgroup holds and kills, and the
// reclaiming of trees whose host died together with its guardian.
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>

#include "support/leftovers.hpp"
#include "test_support.hpp"
#include "vitrine/os/cgroup.hpp"
#include "vitrine/os/io_service.hpp"
#include "vitrine/os/reaper.hpp"

using namespace vitrine::os;
using namespace vitrine::os::test;

namespace {

/// A cgroup tree of our own, or null (with a warning: the test is skipped)
/// where no cgroup v2 hierarchy is writable.
std::unique_ptr<cgroup_tree> cgroup_tree_or_warn() {
  auto tree = cgroup_tree::detect();
  if (!tree) WARN("no writable cgroup v2 hierarchy here: skipped");
  return tree;
}

/// A pid that no process of ours has any more: a child that exited and
/// was reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

}  // namespace

TEST_CASE("a program's cgroup holds its setsid descendants and kills them") {
  auto tree = cgroup_tree_or_warn();
  if (!tree) return;
  leak_guard guard;
  const std::string root = tree->root();
  const std::string marker = "1000." + vitrine::test::unique_token();
  const std::string dir = tree->create_program(1);
  REQUIRE_FALSE(dir.empty());
  launch_options o;
  o.argv = {"/bin/sh", "-c",
            "setsid sleep " + marker + " & exec sleep " + marker};
  o.cgroup = dir;
  auto child = launch_ok(o);
  REQUIRE(wait_until([&] { return tree->members(1) == 2; }));
  // Both members show the marker once their execs are done (a process in
  // the middle of execve briefly has an empty cmdline).
  CHECK(vitrine::test::at_least(marker, 2, 5000ms));
  CHECK(tree->kill_program(1) == 0);
  auto status = reap_child_blocking(child.pid, child.pidfd.get());
  CHECK(describe(status) == "signal 9 (SIGKILL)");
  child.pidfd.reset();
  CHECK(vitrine::test::time_until_none(marker, 5000ms).count() >= 0);
  CHECK(tree->remove_program(1, 1000ms) == 0);
  tree.reset();
  CHECK(::access(root.c_str(), F_OK) != 0);  // nothing left behind
  guard.check();
}

TEST_CASE("cgroups a program made below its cgroup are removed with it") {
  auto tree = cgroup_tree_or_warn();
  if (!tree) return;
  leak_guard guard;
  const std::string root = tree->root();
  const std::string dir = tree->create_program(1);
  REQUIRE_FALSE(dir.empty());
  for (const auto& below : {dir + "/sub", dir + "/sub/deeper", dir + "/idle"})
    REQUIRE(::mkdir(below.c_str(), 0755) == 0);
  launch_options o;
  o.argv = {"/bin/sleep", "30"};
  o.cgroup = dir + "/sub/deeper";
  auto child = launch_ok(o);
  CHECK(tree->kill_program(1) == 0);  // reaches the cgroups below too
  CHECK(describe(reap_child_blocking(child.pid, child.pidfd.get())) ==
        "signal 9 (SIGKILL)");
  child.pidfd.reset();
  CHECK(tree->remove_program(1, 1000ms) == 0);
  CHECK(::access(dir.c_str(), F_OK) != 0);
  tree.reset();
  CHECK(::access(root.c_str(), F_OK) != 0);  // nothing left behind
  guard.check();
}

TEST_CASE("a program's cgroup takes children before and after a cgroup.kill") {
  auto tree = cgroup_tree_or_warn();
  if (!tree) return;
  leak_guard guard;
  const std::string dir = tree->create_program(7);
  REQUIRE_FALSE(dir.empty());
  CHECK_FALSE(tree->program_populated(7));
  // Born into it (clone3 where available), then after a kill joined
  // through cgroup.procs: either way the child lives there, unharmed.
  for (const bool killed : {false, true}) {
    launch_options o;
    o.argv = {"/bin/sleep", "30"};
    o.cgroup = dir;
    o.cgroup_killed = killed;
    auto child = launch_ok(o);
    CHECK(tree->members(7) == 1);
    CHECK(tree->program_populated(7));
    pollfd p{child.pidfd.get(), POLLIN, 0};
    CHECK(::poll(&p, 1, 200) == 0);  // still alive
    CHECK(tree->kill_program(7) == 0);
    auto status = reap_child_blocking(child.pid, child.pidfd.get());
    CHECK(describe(status) == "signal 9 (SIGKILL)");
    child.pidfd.reset();
    CHECK_FALSE(tree->program_populated(7));
  }
  CHECK(tree->remove_program(7, 1000ms) == 0);
  guard.check();
}

TEST_CASE("the io_service says when a program's cgroup is empty") {
  auto tree = cgroup_tree_or_warn();
  if (!tree) return;
  leak_guard guard;
  std::atomic<int> empty{0};
  {
    io_service io;
    REQUIRE_FALSE(tree->create_program(8).empty());
    // Empty already: said at once.
    REQUIRE(io.watch_cgroup_empty(tree->open_program_events(8),
                                  [&] { empty.fetch_add(1); }));
    CHECK(wait_until([&] { return empty.load() == 1; }));
    // A member: said once it is gone, not before.
    launch_options o;
    o.argv = {"/bin/sleep", "30"};
    o.cgroup = tree->program_path(8);
    auto child = launch_ok(o);
    REQUIRE(io.watch_cgroup_empty(tree->open_program_events(8),
                                  [&] { empty.fetch_add(1); }));
    std::this_thread::sleep_for(100ms);
    CHECK(empty.load() == 1);
    CHECK(io.active_watches() == 1);
    CHECK(tree->kill_program(8) == 0);
    CHECK(wait_until([&] { return empty.load() == 2; }));
    CHECK(io.active_watches() == 0);
    reap_child_blocking(child.pid, child.pidfd.get());
    child.pidfd.reset();
  }
  CHECK(tree->remove_program(8) == 0);
  guard.check();
}

TEST_CASE(
    "a runtime reclaims the cgroup tree of a host gone with its guardian") {
  auto tree = cgroup_tree_or_warn();
  if (!tree) return;
  leak_guard guard;
  // Trees beside ours, named as a runtime names its own: one of a dead
  // owner holding a program, one of a live owner, one of another pid
  // namespace (whose pids we cannot judge).
  const std::filesystem::path root = tree->root();
  const std::string ns =
      root.filename().string().substr(root.filename().string().rfind("-ns"));
  const std::string parent = root.parent_path().string();
  const pid_t dead = dead_pid();
  const std::string stale =
      parent + "/vitrine-" + std::to_string(dead) + "-1" + ns;
  const std::string live =
      parent + "/vitrine-" + std::to_string(::getppid()) + "-1" + ns;
  const std::string foreign =
      parent + "/vitrine-" + std::to_string(dead) + "-1-ns1";
  // The program made a cgroup of its own below its cgroup, and lives there
  // (a nested vitrine run does): removed too, deepest first.
  for (const auto& dir :
       {stale, stale + "/p1", stale + "/p1/sub", live, foreign})
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  launch_options o;
  o.argv = {"/bin/sleep", "30"};
  o.cgroup = stale + "/p1/sub";
  auto child = launch_ok(o);
  REQUIRE(cgroup_populated(stale));

  auto next = cgroup_tree::detect();
  REQUIRE(next);
  CHECK(describe(reap_child_blocking(child.pid, child.pidfd.get())) ==
        "signal 9 (SIGKILL)");
  child.pidfd.reset();
  CHECK(::access(stale.c_str(), F_OK) != 0);
  CHECK(::access(live.c_str(), F_OK) == 0);
  CHECK(::access(foreign.c_str(), F_OK) == 0);
  CHECK(::access(next->root().c_str(), F_OK) == 0);
  CHECK(::access(root.c_str(), F_OK) == 0);  // ours: owner alive (us)
  ::rmdir(live.c_str());
  ::rmdir(foreign.c_str());
  guard.check();
}
