// process_scan and subreaper: what the other layers' leak checks rely on.
#include "vitrine/os/process_scan.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "vitrine/os/io_service.hpp"

using namespace vitrine::os;
using namespace vitrine::os::test;

TEST_CASE("this process is found in /proc with its parent and group") {
  auto self = read_proc_entry(::getpid());
  REQUIRE(self);
  CHECK(self->ppid == ::getppid());
  CHECK(self->pgrp == ::getpgrp());
  CHECK(is_alive(::getpid()));
  CHECK_FALSE(read_proc_entry(-5));
}

TEST_CASE("open fds are counted") {
  std::size_t before = count_open_fds();
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHECK(count_open_fds() == before + 1);
  CHECK(open_fds().size() == before + 1);
  ::close(fd);
  CHECK(count_open_fds() == before);
}

TEST_CASE("a child is listed until reaped and shows as a zombie after exit") {
  leak_guard guard;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  o.argv = {"/bin/true"};
  auto child = launch_ok(o);
  const pid_t pid = child.pid;
  REQUIRE(wait_until([&] { return is_zombie(pid); }));
  bool listed = false;
  for (const auto& c : children_of(::getpid())) {
    listed |= c.pid == pid && is_zombie(c);
  }
  CHECK(listed);
  io.watch_exit(child, log.recorder(pid));
  REQUIRE(log.wait_for(pid));
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

TEST_CASE("a subreaper adopts and reaps an orphaned grandchild") {
  // Runs in a helper process: becoming a subreaper is permanent.
  leak_guard guard;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  o.argv = {helper(), "subreaper-check"};
  auto child = launch_ok(o);
  const pid_t pid = child.pid;
  io.watch_exit(child, log.recorder(pid));
  auto s = log.wait_for(pid);
  REQUIRE(s);
  CHECK(describe(*s) == "exit 0");
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

namespace {

/// The reference answer: every process below `root`, from a full scan of
/// /proc (the slow way, independent of the children files).
std::set<pid_t> descendants_by_full_scan(pid_t root) {
  std::multimap<pid_t, pid_t> by_parent;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (auto e = read_proc_entry(std::stoi(name)))
      by_parent.emplace(e->ppid, e->pid);
  }
  std::set<pid_t> found;
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    auto [begin, end] = by_parent.equal_range(parent);
    for (auto it = begin; it != end; ++it)
      if (found.insert(it->second).second) frontier.push_back(it->second);
  }
  return found;
}

}  // namespace

TEST_CASE(
    "descendants_of finds children and grandchildren, as a full /proc scan "
    "does") {
  leak_guard guard;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  // root (sleep) -> child (sleep) -> grandchild (sleep), one process group.
  o.argv = {"/bin/sh", "-c",
            "sh -c 'sleep 60 & exec sleep 60' & exec sleep 60"};
  auto child = launch_ok(o);
  const pid_t root = child.pid;
  REQUIRE(
      wait_until([&] { return descendants_by_full_scan(root).size() == 2; }));
  const auto expected = descendants_by_full_scan(root);
  std::set<pid_t> found;
  for (const auto& d : descendants_of(root)) {
    found.insert(d.pid);
    CHECK(d.pgrp == root);
  }
  CHECK(found == expected);
  std::set<pid_t> children;
  for (const auto& c : children_of(root)) children.insert(c.pid);
  CHECK(children.size() == 1);
  CHECK(expected.count(*children.begin()) == 1);
  CHECK(descendants_of(*children.begin()).size() == 1);
  ::kill(-root, SIGKILL);
  io.watch_exit(child, log.recorder(root));
  REQUIRE(log.wait_for(root));
  io.stop();  // closes its epoll and eventfd
  guard.check();
}
