// Owner-side reaping (notify_exit + reap_child), the orphan reaper, the
// guardian process and the shared PATH resolver.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <variant>

#include "support/leftovers.hpp"
#include "test_support.hpp"
#include "vitrine/os/guardian.hpp"
#include "vitrine/os/io_service.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/os/program_path.hpp"
#include "vitrine/os/reaper.hpp"
#include "vitrine/os/signals.hpp"

using namespace vitrine::os;
using namespace vitrine::os::test;

namespace {

/// CPU time (user + system, in clock ticks) of this process's thread
/// named `name`, or -1 if there is none.
long thread_cpu_ticks(const std::string& name) {
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    std::getline(comm, line);
    if (line != name) continue;
    std::ifstream stat(task.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    // Fields after the command (which may hold spaces): state is field 3,
    // utime and stime are fields 14 and 15.
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stol(field);
      if (i == 15) stime = std::stol(field);
    }
    return utime + stime;
  }
  return -1;
}

std::string comm_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

// /proc/<pid>/cmdline, its NULs shown as spaces, trailing ones dropped.
std::string cmdline_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text{std::istreambuf_iterator<char>(in), {}};
  while (!text.empty() && text.back() == '\0') text.pop_back();
  for (char& c : text)
    if (c == '\0') c = ' ';
  return text;
}

}  // namespace

SCENARIO("the io thread only reports an exit; the owner reaps it") {
  leak_guard guard;
  std::atomic<int> reported{-1};
  io_service io;  // declared last: its thread uses the above
  launch_options o;
  o.argv = {helper(), "exit", "7"};
  auto child = launch_ok(o);
  CHECK(is_owned_child(child.pid));
  REQUIRE(io.notify_exit(child.pidfd, [&](int error) { reported = error; }));
  CHECK(child.pidfd);  // the caller keeps its pidfd
  REQUIRE(wait_until([&] { return reported.load() != -1; }));
  CHECK(reported.load() == 0);
  WHEN("the exit is reported") {
    THEN("the child is still a zombie: pid and group id are still ours") {
      CHECK(is_zombie(child.pid));
      CHECK(signal_leader_group(child.pidfd.get(), child.pid, SIGKILL) == 0);
    }
    AND_WHEN("the owner reaps it") {
      auto status = reap_child(child.pid, child.pidfd.get());
      REQUIRE(status);
      CHECK(describe(*status) == "exit 7");
      THEN("it cannot be signalled any more, by pidfd or group") {
        CHECK(signal_pidfd(child.pidfd.get(), SIGKILL) == ESRCH);
        CHECK(signal_leader_group(child.pidfd.get(), child.pid, SIGKILL) ==
              ESRCH);
        CHECK_FALSE(is_owned_child(child.pid));
        CHECK_FALSE(is_zombie(child.pid));
      }
    }
  }
  if (is_zombie(child.pid)) reap_child(child.pid, child.pidfd.get());
  child.pidfd.reset();
  io.stop();
  guard.check();
}

TEST_CASE("the io thread sleeps while a reported exit waits to be reaped") {
  // The watch holds a duplicate of the owner's pidfd: it must leave the
  // epoll set when reported, or the exited child's pidfd (ready until
  // reaped) wakes the thread in a loop.
  leak_guard guard;
  std::atomic<int> reported{-1};
  io_service io;
  launch_options o;
  o.argv = {helper(), "exit", "0"};
  auto child = launch_ok(o);
  REQUIRE(io.notify_exit(child.pidfd, [&](int error) { reported = error; }));
  REQUIRE(wait_until([&] { return reported.load() != -1; }));
  const long before = thread_cpu_ticks("vitrine-io");
  REQUIRE(before >= 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long spent = thread_cpu_ticks("vitrine-io") - before;
  CHECK(is_zombie(child.pid));  // not reaped all along
  // A spinning thread takes most of a CPU: ~50 ticks of 10 ms here.
  CHECK(spent < 10);
  reap_child(child.pid, child.pidfd.get());
  child.pidfd.reset();
  io.stop();
  guard.check();
}

TEST_CASE("a watch epoll cannot take is reported, not dropped") {
  io_service io;
  std::atomic<int> reported{-1};
  // Regular files cannot be added to epoll (EPERM).
  unique_fd file{::open("/proc/self/exe", O_RDONLY | O_CLOEXEC)};
  REQUIRE(file);
  REQUIRE(io.notify_exit(file, [&](int error) { reported = error; }));
  REQUIRE(wait_until([&] { return reported.load() != -1; }));
  CHECK(reported.load() == EPERM);
  CHECK(io.failed_registrations() == 1);
  io.stop();
  CHECK_FALSE(io.notify_exit(file, [&](int) {}));  // stopped: refused
}

TEST_CASE("registrations racing with stop() never touch a closed eventfd") {
  leak_guard guard;
  for (int round = 0; round < 20; ++round) {
    io_service io;
    std::atomic<bool> go{false};
    std::thread submitter([&] {
      while (!go.load()) std::this_thread::yield();
      for (;;) {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
        unique_fd write_end{fds[1]};
        if (!io.capture(unique_fd{fds[0]}, nullptr)) break;
      }
    });
    go = true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    io.stop();
    submitter.join();
  }
  guard.check();
}

TEST_CASE("the orphan reaper takes adopted orphans, never an owned child") {
  launch_options o;
  o.argv = {helper(), "orphan-reaper-check"};
  auto child = launch_ok(o);
  auto status = reap_child_blocking(child.pid, child.pidfd.get());
  CHECK(describe(status) == "exit 0");
}

TEST_CASE("a guardian runs in its own session and quits quietly") {
  leak_guard guard;
  launch_options o;
  o.argv = {"sleep", "1000"};
  auto child = launch_ok(o);
  {
    guardian g;
    const pid_t gp = g.pid();
    REQUIRE(gp > 0);
    REQUIRE(wait_until([&] { return comm_of(gp) == "vitrine-guard"; }));
    // ps -o args and pgrep -f see the guardian, not a second host.
    CHECK(cmdline_of(gp) == "vitrine-guard");
    CHECK(cmdline_of(::getpid()) != "vitrine-guard");
    auto entry = read_proc_entry(gp);
    REQUIRE(entry);
    CHECK(entry->ppid == ::getpid());
    CHECK(entry->pgrp == gp);  // setsid: out of our group and session
    CHECK(is_owned_child(gp));
    g.watch_group(child.pid);
  }  // a normal shutdown: the guardian quits without killing
  CHECK(is_alive(child.pid));
  signal_leader_group(child.pidfd.get(), child.pid, SIGKILL);
  auto status = reap_child_blocking(child.pid, child.pidfd.get());
  CHECK(describe(status) == "signal 9 (SIGKILL)");
  child.pidfd.reset();
  guard.check();
}

// A kill of the host's process group right after the constructor (a ^C,
// kill -KILL -PGID, a test) must not take the guardian with it.
TEST_CASE("a guardian has left the host's group when its constructor returns") {
  leak_guard guard;
  for (int i = 0; i < 5; ++i) {
    guardian g;
    const auto entry = read_proc_entry(g.pid());
    REQUIRE(entry);
    CHECK(entry->pgrp == g.pid());
    CHECK(entry->pgrp != ::getpgrp());
  }
  guard.check();
}

// The window this closes: a host killed after the clone but before it told
// the guardian (watch_group) left the program's descendants running. The
// helper host never calls watch_group, so the child's own mark is
// all the guardian learns; the program's forked child has no death signal
// and dies only if the guardian kills the group.
TEST_CASE("a launched child marks its group in the guardian's table itself") {
  leak_guard guard;
  temp_dir dir;
  launch_options o;
  o.argv = {helper(), "guarded-launch", dir.file("pid")};
  auto host = launch_ok(o);
  const auto grandchild_text =
      read_file_when_present(dir.file("pid.grandchild"));
  REQUIRE(grandchild_text);
  const pid_t grandchild = std::stoi(*grandchild_text);
  REQUIRE(is_alive(grandchild));
  signal_leader_group(host.pidfd.get(), host.pid, SIGKILL);
  reap_child_blocking(host.pid, host.pidfd.get());
  host.pidfd.reset();
  CHECK(wait_until([&] { return !is_alive(grandchild); }));
  if (is_alive(grandchild)) ::kill(grandchild, SIGKILL);
  guard.check();
}

// Found by a stranger: a guardian stopped (SIGSTOP) when the host died and
// continued after a guarded group's id was taken over killed the new
// holder's group. The helper is a subreaper (the host's orphans come to
// it), forces the reuse through ns_last_pid, and checks that a guarded
// program which outlived the host is still killed.
TEST_CASE("a guardian continued after a guarded id was reused spares it") {
  leak_guard guard;
  launch_options o;
  o.argv = {helper(), "reused-group-check"};
  auto child = launch_ok(o);
  const auto status = reap_child_blocking(child.pid, child.pidfd.get());
  child.pidfd.reset();
  if (describe(status) == "exit 77") {
    WARN(
        "a pid could not be reused on purpose here (ns_last_pid): the "
        "guardian's check of it was not exercised");
  } else {
    CHECK(describe(status) == "exit 0");
  }
  guard.check();
}

TEST_CASE("launch and validation share one PATH search") {
  launch_options o;
  o.argv = {"sh"};
  o.inherit_env = false;
  CHECK(search_path_for(o) == "/usr/local/bin:/usr/bin:/bin");
  std::string path;
  CHECK(resolve_program(o, path) == 0);
  CHECK(path.find("/sh") != std::string::npos);
  o.env = {{"PATH", "/nonexistent"}};
  CHECK(resolve_program(o, path) == ENOENT);
  o.argv = {""};
  CHECK(resolve_program(o, path) == ENOENT);
}

TEST_CASE("setsid descendants still below a leader are found and signalled") {
  leak_guard guard;
  const std::string marker = "1000." + vitrine::test::unique_token();
  launch_options o;
  o.argv = {"/bin/sh", "-c", "setsid sleep " + marker + " & wait"};
  auto child = launch_ok(o);
  // Wait until the sleep has left the group (setsid(1) calls setsid()).
  std::vector<proc_entry> below;
  const bool escaped = wait_until([&] {
    below = descendants_of(child.pid);
    return below.size() == 1 && below[0].pgrp != child.pid;
  });
  const std::size_t signalled =
      escaped ? signal_escaped_descendants(child.pid, SIGTERM) : 0;
  if (signalled != 1) {  // do not hang below: end the shell's wait
    signal_leader_group(child.pidfd.get(), child.pid, SIGKILL);
    vitrine::test::kill_all_with(marker);
  }
  CHECK(escaped);
  CHECK(signalled == 1);
  // sh's `wait` returns once the sleep is gone, then sh exits.
  auto status = reap_child_blocking(child.pid, child.pidfd.get());
  CHECK(describe(status) == "exit 0");  // plain `wait` returns 0
  child.pidfd.reset();
  CHECK(vitrine::test::time_until_none(marker, 5000ms).count() >= 0);
  guard.check();
}

TEST_CASE("a guardian gives back the host's memory it was forked with") {
  // 128 MiB of touched heap: without the release the guardian would map
  // (and, once we write to it, own) every page of it.
  std::vector<char> heap(std::size_t{128} << 20);
  for (std::size_t i = 0; i < heap.size(); i += 4096) heap[i] = 1;
  guardian g;
  REQUIRE(wait_until([&] { return comm_of(g.pid()) == "vitrine-guard"; }));
  std::ifstream status("/proc/" + std::to_string(g.pid()) + "/status");
  std::string line;
  long rss_kib = -1;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) rss_kib = std::stol(line.substr(6));
  INFO("guardian VmRSS " << rss_kib << " KiB");
  CHECK(rss_kib >= 0);
  CHECK(rss_kib < 32 * 1024);
  heap[0] = 2;  // keep the heap alive until here
}

// A stopped guardian never reads the quit: the host's shutdown must not
// wait for it (it hung for as long as the guardian stayed stopped).
TEST_CASE("a stopped guardian does not hold up the host's shutdown") {
  leak_guard guard;
  const auto began = std::chrono::steady_clock::now();
  {
    guardian g;
    REQUIRE(wait_until([&] { return comm_of(g.pid()) == "vitrine-guard"; }));
    REQUIRE(::kill(g.pid(), SIGSTOP) == 0);
  }  // quit unread: killed after quit_patience, then reaped
  CHECK(std::chrono::steady_clock::now() - began <
        guardian::quit_patience + std::chrono::seconds{10});
  guard.check();
}

// A stopped guardian kills nothing: had the host died while it was
// stopped (SIGSTOP by a process of the same user), the programs'
// descendants would have lived until someone continued it.
TEST_CASE("a watched guardian found stopped is continued") {
  leak_guard guard;
  guardian g;
  io_service io;  // stopped before g is destroyed (declared after it)
  g.watch(io);
  REQUIRE(wait_until([&] { return comm_of(g.pid()) == "vitrine-guard"; }));
  const pid_t pid = g.pid();
  const auto stopped = [pid] {
    const auto e = read_proc_entry(pid);
    return e && e->state == 'T';
  };
  for (std::size_t round = 1; round <= 2; ++round) {
    REQUIRE(::kill(pid, SIGSTOP) == 0);
    REQUIRE(wait_until(stopped));
    CHECK(wait_until([&] { return !stopped() && g.continuations() == round; },
                     guardian::stopped_check_interval * 3));
  }
  CHECK(g.pid() == pid);  // continued, not replaced
  io.stop();
}
