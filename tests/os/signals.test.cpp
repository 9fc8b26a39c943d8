// signals: names and numbers, group and pidfd delivery.
#include "vitrine/os/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "test_support.hpp"
#include "vitrine/os/io_service.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine::os;
using namespace vitrine::os::test;

TEST_CASE("signal names and numbers convert both ways") {
  CHECK(signal_from_name("TERM") == SIGTERM);
  CHECK(signal_from_name("SIGTERM") == SIGTERM);
  CHECK(signal_from_name("sigterm") == SIGTERM);
  CHECK(signal_from_name("15") == SIGTERM);
  CHECK(signal_from_name("KILL") == SIGKILL);
  CHECK(signal_from_name("RTMIN+2") == SIGRTMIN + 2);
  CHECK_FALSE(signal_from_name("NOPE"));
  CHECK_FALSE(signal_from_name("0"));
  CHECK_FALSE(signal_from_name("999"));
  CHECK_FALSE(signal_from_name(""));
  CHECK(signal_name(SIGTERM) == "SIGTERM");
  CHECK(signal_name(SIGKILL) == "SIGKILL");
  CHECK(signal_name(SIGRTMIN + 1) == "SIGRTMIN+1");
  CHECK(signal_name(0).empty());
  for (int s = 1; s < SIGRTMIN; ++s) {
    if (signal_name(s).empty()) continue;  // 32, 33 are glibc-internal
    CHECK(signal_from_name(signal_name(s)) == s);
  }
}

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
  CHECK(describe(*s) == "killed by SIGTERM");
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
  CHECK(describe(*s) == "killed by SIGKILL");
  io.stop();  // closes its epoll and eventfd
  guard.check();
}
