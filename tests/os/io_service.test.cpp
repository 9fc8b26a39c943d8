// io_service: exits reaped once, output captured, readiness seen, clean stop.
#include "vitrine/os/io_service.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <variant>

#include "test_support.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine::os;
using namespace vitrine::os::test;

TEST_CASE("an exit that happens before watch_exit is still delivered") {
  leak_guard guard;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  o.argv = {helper(), "exit", "4"};
  auto child = launch_ok(o);
  REQUIRE(wait_until([&] { return is_zombie(child.pid); }));
  pid_t pid = child.pid;
  io.watch_exit(child, log.recorder(pid));
  CHECK_FALSE(child.pidfd);  // ownership taken
  auto s = log.wait_for(pid);
  REQUIRE(s);
  CHECK(describe(*s) == "exit 4");
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

TEST_CASE("a status taken by someone else is reported as unknown, not hung") {
  leak_guard guard;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  o.argv = {"/bin/true"};
  pid_t pid = 0;
  SECTION("by a host's waitpid") {
    auto child = launch_ok(o);
    REQUIRE(::waitpid(child.pid, nullptr, 0) == child.pid);
    pid = child.pid;
    io.watch_exit(child, log.recorder(pid));
  }
  SECTION("by the kernel, because the host set SIGCHLD to SIG_IGN") {
    struct ignore_sigchld {  // restored even if a REQUIRE fails
      sighandler_t old = ::signal(SIGCHLD, SIG_IGN);
      ~ignore_sigchld() { ::signal(SIGCHLD, old); }
    } ignoring;
    auto child = launch_ok(o);  // the kernel may reap it before we return
    pid = child.pid;
    io.watch_exit(child, log.recorder(pid));
    REQUIRE(log.wait_for(pid));
  }
  auto s = log.wait_for(pid);
  REQUIRE(s);
  CHECK(s->how == termination::kind::unknown);
  CHECK(s->value == 0);
  CHECK(describe(*s) == "unknown (exit status lost)");
  CHECK_FALSE(s->success());
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

TEST_CASE("200 children are launched and reaped, each exit seen exactly once") {
  leak_guard guard;
  exit_log log;
  std::vector<pid_t> pids;
  {
    io_service io;
    for (int i = 0; i < 200; ++i) {
      launch_options o;
      o.argv = {helper(), "exit", std::to_string(i % 7)};
      auto child = launch_ok(o);
      pids.push_back(child.pid);
      REQUIRE(io.watch_exit(child, log.recorder(child.pid)));
    }
    REQUIRE(log.wait_for_total(200));
    CHECK(wait_until([&] { return io.active_watches() == 0; }));
  }  // stopped: no callback can come late
  CHECK(log.total() == 200);
  for (std::size_t i = 0; i < pids.size(); ++i) {
    auto seen = log.all(pids[i]);
    REQUIRE(seen.size() == 1);
    CHECK(seen.front().value == static_cast<int>(i % 7));
  }
  guard.check();
}

TEST_CASE("stop is idempotent, does not hang, and closes what it holds") {
  leak_guard guard;
  exit_log log;
  std::atomic<int> ready_calls{0};
  std::vector<pid_t> pids;
  auto io = std::make_unique<io_service>();
  for (int i = 0; i < 3; ++i) {
    launch_options o;
    o.argv = {helper(), "sleep", "60000"};
    o.stdout_target.mode = stdio_target::kind::capture;
    o.notify_fd = 3;
    auto child = launch_ok(o);
    pids.push_back(child.pid);
    CHECK(io->capture(std::move(child.stdout_pipe), nullptr));
    CHECK(
        io->watch_ready(std::move(child.notify_pipe), [&] { ++ready_calls; }));
    CHECK(io->watch_exit(child, log.recorder(child.pid)));
  }
  io->stop();
  io->stop();
  CHECK(io->active_watches() == 0);
  // Registrations after stop are refused and their fd is closed.
  launch_options o;
  o.argv = {"/bin/true"};
  auto late = launch_ok(o);
  pid_t late_pid = late.pid;
  CHECK_FALSE(io->watch_exit(late, log.recorder(late_pid)));
  CHECK_FALSE(late.pidfd);
  io.reset();  // destructor after stop: a third, harmless stop
  CHECK(log.total() == 0);
  CHECK(ready_calls == 0);
  // The owner reaps what it left behind.
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
  pids.push_back(late_pid);
  for (pid_t pid : pids) CHECK(::waitpid(pid, nullptr, 0) == pid);
  guard.check();
}

SCENARIO("readiness is signalled by a newline on the notify fd") {
  leak_guard guard;
  exit_log log;
  std::atomic<int> ready_calls{0};
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  o.notify_fd = 5;
  WHEN("the child writes a newline to its notify fd") {
    o.argv = {helper(), "notify", "5", "notify", "5", "sleep", "100"};
  }
  WHEN("the child exits without writing") {
    o.argv = {helper(), "exit", "0"};
  }
  auto child = launch_ok(o);
  pid_t pid = child.pid;
  const bool writes = o.argv[1] == "notify";
  io.watch_ready(std::move(child.notify_pipe), [&] { ++ready_calls; });
  io.watch_exit(child, log.recorder(pid));
  REQUIRE(log.wait_for(pid));
  // The notify watch ends on the newline or on EOF (child gone).
  REQUIRE(wait_until([&] { return io.active_watches() == 0; }));
  CHECK(ready_calls == (writes ? 1 : 0));
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

TEST_CASE("several children flooding their captures all get everything") {
  leak_guard guard;
  temp_dir dir;
  exit_log log;
  std::atomic<int> closed{0};
  io_service io;  // declared last: its thread uses the above
  constexpr int children = 3;
  constexpr long bytes = 1 << 20;
  for (int i = 0; i < children; ++i) {
    launch_options o;
    o.argv = {helper(), "flood", std::to_string(bytes)};
    o.stdout_target.mode = stdio_target::kind::capture;
    auto child = launch_ok(o);
    auto sink = std::make_shared<log_sink>(dir.file(std::to_string(i)), 0, 0);
    io.capture(std::move(child.stdout_pipe), sink, [&] { ++closed; });
    io.watch_exit(child, log.recorder(child.pid));
  }
  REQUIRE(wait_until([&] { return closed == children; }, 3 * deadline));
  REQUIRE(log.wait_for_total(children));
  for (int i = 0; i < children; ++i) {
    CHECK(file_size(dir.file(std::to_string(i))) == bytes);
  }
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

TEST_CASE("callbacks may register new watches") {
  leak_guard guard;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  o.argv = {"/bin/true"};
  auto second = std::make_shared<launched_child>(launch_ok(o));
  auto first = launch_ok(o);
  const pid_t second_pid = second->pid;
  io.watch_exit(first, [&, second](termination) {
    io.watch_exit(*second, log.recorder(second->pid));
  });
  auto s = log.wait_for(second_pid);
  REQUIRE(s);
  CHECK(s->success());
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

TEST_CASE("stdout and stderr captured to one file keep the program's order") {
  // Two pipes read by one thread gave `out1 out2 out3 err1 err2 err3` for
  // a program alternating them (an outside tester); one pipe keeps order.
  leak_guard guard;
  temp_dir dir;
  exit_log log;
  std::atomic<bool> closed{false};
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  o.argv = {"/bin/sh", "-c",
            "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done"};
  o.stdout_target = {stdio_target::kind::capture, dir.file("both.log")};
  o.stderr_target = o.stdout_target;
  auto child = launch_ok(o);
  CHECK_FALSE(child.stderr_pipe);  // fd 2 is stdout's pipe
  auto sink = std::make_shared<log_sink>(dir.file("both.log"), 0, 0);
  io.capture(std::move(child.stdout_pipe), sink, [&] { closed = true; });
  const pid_t pid = child.pid;
  io.watch_exit(child, log.recorder(pid));
  REQUIRE(wait_until([&] { return closed.load(); }));
  REQUIRE(log.wait_for(pid));
  io.stop();
  CHECK(read_file(dir.file("both.log")) ==
        "out1\nerr1\nout2\nerr2\nout3\nerr3\nout4\nerr4\nout5\nerr5\n");
  sink.reset();
  guard.check();
}
