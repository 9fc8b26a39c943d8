// spawn_slots: with the pool live, launch() hands the child its fds through
// low slots and the child unshares the fd table keeping only those below
// them. What the child gets must not change, and nothing may be left in a
// slot (a pipe's write end left there would keep its reader from EOF).
#include "vitrine/os/spawn_slots.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <optional>
#include <variant>
#include <vector>

#include "test_support.hpp"
#include "vitrine/os/guardian.hpp"
#include "vitrine/os/io_service.hpp"
#include "vitrine/os/launch.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine::os;
using namespace vitrine::os::test;

namespace {

/// Reads `fd` (non-blocking) until EOF; false if it stays open (no EOF
/// within a few seconds).
bool reaches_eof(int fd, std::string& text) {
  char buffer[256];
  return wait_until([&] {
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) {
        text.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return true;
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 20);
      return false;
    }
  });
}

}  // namespace

TEST_CASE(
    "with spawn slots live, the child still sees only fds 0, 1, 2 and the "
    "notify fd, and the host's descriptors are untouched") {
  leak_guard guard;
  temp_dir dir;
  {
    spawn_slots slots;
    CHECK(slots.descriptors() >= 1 + 4 * 6);
    // Host mistakes the child must not inherit, below and far above the
    // slots (no O_CLOEXEC on purpose).
    const int low = ::open("/dev/null", O_RDONLY);
    REQUIRE(low >= 0);
    const int high = ::dup2(low, 900);
    REQUIRE(high == 900);

    const launch_options o = reporting_child(dir);
    exit_log log;
    io_service io;  // declared last: its thread uses the above
    auto child = launch_ok(o);
    REQUIRE(child.stdout_pipe);
    REQUIRE(child.notify_pipe);
    io.watch_exit(child, log.recorder(child.pid));
    REQUIRE(log.wait_for(child.pid));
    auto r = read_report(dir.file("r"));
    CHECK(r["fds"] == "0,1,2,7");
    // The host's own descriptors are still open and still what they were.
    CHECK(::fcntl(low, F_GETFD) == 0);
    CHECK(::fcntl(high, F_GETFD) == 0);
    ::close(low);
    ::close(high);
    io.stop();
  }
  guard.check();  // the pool's descriptors are closed with the last holder
}

TEST_CASE(
    "a child launched with a guardian marks its group and keeps no "
    "descriptor of it, with or without spawn slots") {
  leak_guard guard;
  for (const bool with_slots : {true, false}) {
    INFO((with_slots ? "with" : "without") << " spawn slots");
    temp_dir dir;
    std::optional<spawn_slots> slots;
    if (with_slots) slots.emplace();
    guardian keeper;
    exit_log log;
    io_service io;  // declared last: its thread uses the above
    auto result = launch(reporting_child(dir), &keeper);
    auto* child = std::get_if<launched_child>(&result);
    REQUIRE(child != nullptr);
    // Marked by the child itself, before it exec'd.
    CHECK(keeper.guards(child->pid));
    keeper.forget_group(child->pid);
    CHECK_FALSE(keeper.guards(child->pid));
    io.watch_exit(*child, log.recorder(child->pid));
    REQUIRE(log.wait_for(child->pid));
    CHECK(read_report(dir.file("r"))["fds"] == "0,1,2,7");
    io.stop();
  }
  guard.check();
}

TEST_CASE("a launch that fails after the child marked its group clears it") {
  leak_guard guard;
  {
    guardian keeper;
    launch_options o;
    o.argv = {"/bin/true"};
    o.cwd = "/nonexistent/vitrine-test";  // chdir fails after setpgid
    auto result = launch(o, &keeper);
    REQUIRE(std::holds_alternative<launch_error>(result));
    CHECK(std::get<launch_error>(result).what.find("chdir") !=
          std::string::npos);
    // No group bit set anywhere (the summary page before them may say
    // which page was written: it is not a mark).
    const std::uint64_t* table = keeper.group_table();
    const std::size_t summary_words = 4096 / sizeof(std::uint64_t);
    std::size_t marked_words = 0;
    for (std::size_t w = 0; w < (std::size_t{1} << 22) / 64; ++w)
      marked_words += table[summary_words + w] != 0;
    CHECK(marked_words == 0);
  }
  guard.check();
}

TEST_CASE(
    "with spawn slots live, a captured pipe reaches EOF when the child "
    "exits: no slot keeps its write end") {
  leak_guard guard;
  {
    spawn_slots slots;
    launch_options o;
    o.argv = {helper(), "print", "hello", "exit", "0"};
    o.stdout_target.mode = stdio_target::kind::capture;
    o.stderr_target.mode = stdio_target::kind::capture;
    o.notify_fd = 5;
    exit_log log;
    io_service io;  // declared last: its thread uses the above
    auto child = launch_ok(o);
    io.watch_exit(child, log.recorder(child.pid));
    REQUIRE(log.wait_for(child.pid));
    std::string out, err, notify;
    CHECK(reaches_eof(child.stdout_pipe.get(), out));
    CHECK(out == "hello\n");
    CHECK(reaches_eof(child.stderr_pipe.get(), err));
    CHECK(reaches_eof(child.notify_pipe.get(), notify));
    io.stop();
  }
  guard.check();
}

TEST_CASE(
    "with spawn slots live, more concurrent launches than slot groups all "
    "succeed (the overflow copies the table as before)") {
  leak_guard guard;
  {
    spawn_slots slots;
    exit_log log;
    io_service io;  // declared last: its thread uses the above
    constexpr int threads = 12, per_thread = 10;
    CHECK(launch_from_threads(io, log, threads, per_thread,
                              {helper(), "print", "x", "exit", "3"}) == 0);
    REQUIRE(log.wait_for_total(threads * per_thread));
    CHECK(wait_until([&] { return io.active_watches() == 0; }));
    io.stop();
  }
  guard.check();
}
