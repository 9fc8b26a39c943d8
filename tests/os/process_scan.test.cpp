// process_scan and subreaper: what the other layers' leak checks rely on.
#include "vitrine/os/process_scan.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

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
