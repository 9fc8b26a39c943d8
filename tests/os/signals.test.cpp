// signals: group and pidfd delivery (names: tests/core/termination_test).
#include "vitrine/os/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "test_support.hpp"
#include "vitrine/os/io_service.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine::os;
using namespace vitrine::os::test;

TEST_CASE("signal_group reaches a grandchild; signal_pidfd reaches a child") {
  leak_guard guard;
  temp_dir dir;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  o.argv = {helper(), "grandchild", dir.file("g"), "sleep", "60000"};
  auto child = launch_ok(o);
  const pid_t pid = child.pid;
  auto text = read_file_when_present(dir.file("g"));
  REQUIRE(text);
  const pid_t grandchild = std::stoi(*text);
  bool found = false;
  for (const auto& e : processes_in_group(pid)) found |= e.pid == grandchild;
  CHECK(found);

  CHECK(signal_group(pid, SIGTERM) == 0);
  io.watch_exit(child, log.recorder(pid));
  auto s = log.wait_for(pid);
  REQUIRE(s);
  CHECK(describe(*s) == "signal 15 (SIGTERM)");
  CHECK(wait_until([&] { return !is_alive(grandchild); }));
  // Empty once the orphaned grandchild has been reaped by init.
  CHECK(wait_until([&] { return signal_group(pid, 0) == ESRCH; }));
  CHECK(signal_group(0, SIGTERM) == EINVAL);
  CHECK(signal_group(1, SIGTERM) == EINVAL);

  o.argv = {helper(), "ignore-term", "sleep", "60000"};
  auto stubborn = launch_ok(o);
  const pid_t stubborn_pid = stubborn.pid;
  CHECK(signal_pidfd(stubborn.pidfd.get(), SIGKILL) == 0);
  REQUIRE(wait_until([&] { return is_zombie(stubborn_pid); }));
  io.watch_exit(stubborn, log.recorder(stubborn_pid));
  s = log.wait_for(stubborn_pid);
  REQUIRE(s);
  CHECK(describe(*s) == "signal 9 (SIGKILL)");
  io.stop();  // closes its epoll and eventfd
  guard.check();
}
