// `vitrine run` whose output nobody reads (a terminal after Ctrl-S, a pager
// waiting at a page, a stalled log shipper) still acts on signals: its
// stdout and stderr are written by threads of their own
// (cli/queued_output.hpp). An outside tester: with an unread pipe the main
// thread blocked in write(2), SIGTERM and SIGINT were not acted on, and a
// crash-looping program kept restarting (628 -> 1,269 restarts after it).
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "cli_driver.hpp"
#include "live_run.hpp"
#include "vitrine/os/unique_fd.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

/// A program that exits at once and is restarted at once: a line of
/// --plain output per transition, hundreds a second.
const std::string crash_loop = R"([[program]]
name = "crash"
command = ["true"]
startsecs_ms = 0
startretries = 1000
backoff = { min_ms = 0, max_ms = 0 }
restart_limit = { burst = 1, interval_ms = 0 }
)";

std::uint32_t restarts_of(const live_run& run, const std::string& name) {
  return run.wait_slot(name, [](const auto&) { return true; }).restarts;
}

}  // namespace

TEST_CASE("vitrine run stops on SIGTERM though nobody reads its output",
          "[cli][signals][output]") {
  temp_dir pipes;
  const auto fifo = pipes.file("out");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Held open, never read: the pipe fills, and a write to it then blocks.
  const vitrine::os::unique_fd reader{
      ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  REQUIRE(reader);
  live_run run{crash_loop, "exec >" + fifo + " 2>&1"};
  const auto queued = [&] {
    int bytes = 0;
    return ::ioctl(reader.get(), FIONREAD, &bytes) == 0 ? bytes : -1;
  };
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (queued() < 48 * 1024 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  // Full: 50 more restarts (a line each) and not a byte more in the pipe.
  // A run whose main thread wrote there would be stuck now.
  for (int tries = 0;; ++tries) {
    const int before_bytes = queued();
    const auto before = restarts_of(run, "crash");
    run.wait_slot("crash",
                  [&](const auto& s) { return s.restarts > before + 50; });
    if (queued() == before_bytes && before_bytes >= 48 * 1024) break;
    REQUIRE(tries < 100);
  }
  REQUIRE(::kill(run.process().pid(), SIGTERM) == 0);
  CHECK(run.process().wait(10s) == std::optional<int>{0});
}

TEST_CASE("vitrine run says so and exits 1 when its stdout fails",
          "[cli][output]") {
  // An outside tester: with stdout on /dev/full it said "Interrupted system
  // call" (an errno left by another call), not why the write failed.
  live_run run{crash_loop, "exec >/dev/full"};
  run.wait_slot("crash", [](const auto& s) { return s.restarts > 10; });
  REQUIRE(::kill(run.process().pid(), SIGTERM) == 0);
  CHECK(run.process().wait(10s) == std::optional<int>{1});
  CHECK(read_file(run.log()).find(
            "vitrine: run: stdout: No space left on device\n") !=
        std::string::npos);
}
