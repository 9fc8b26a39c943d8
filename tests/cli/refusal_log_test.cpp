// refusal_log: `vitrine node`'s lines about the connections its port
// closed, at most one per spacing, the next counting those left out.
#include "refusal_log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

/// What the pipe holds now.
std::string drain(int fd) {
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  return text;
}

}  // namespace

TEST_CASE("refusal_log writes one line per spacing and counts the others",
          "[cli]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
  vitrine::cli::refusal_log log{fds[1], 300ms};
  log.report("127.0.0.1:1", "not BASP framing (operation 71)");
  log.report("127.0.0.1:2", "a handshake without a payload");
  log.report("127.0.0.1:3", "a handshake without a payload");
  const auto first = drain(fds[0]);
  INFO(first);
  CHECK(first.find("vitrine node: closed the connection of 127.0.0.1:1: "
                   "not BASP framing (operation 71)\n") != std::string::npos);
  CHECK(first.find("127.0.0.1:2") == std::string::npos);
  log.report("127.0.0.1:5", "not BASP framing (operation 72)");
  std::this_thread::sleep_for(400ms);
  log.report("[::1]:4", "completed no message for 2000 ms");
  const auto second = drain(fds[0]);
  INFO(second);
  // Those left out are told by reason: the same kind (up to a number) once.
  CHECK(second.find("[::1]:4: completed no message for 2000 ms (and 3 "
                    "others since the last such line: 2 a handshake without "
                    "a payload; 1 not BASP framing (operation 72))\n") !=
        std::string::npos);
  // Past four kinds, the rest are counted without their reasons.
  for (const char* why : {"k", "l", "m", "n 1", "n 2", "o", "p"})
    log.report("h:2", why);
  std::this_thread::sleep_for(400ms);
  log.report("h:3", "q");
  const auto third = drain(fds[0]);
  INFO(third);
  CHECK(third.find("h:3: q (and 7 others since the last such line: 1 k; 1 "
                   "l; 1 m; 2 such as n 1; 2 for other reasons)\n") !=
        std::string::npos);
  using kind = vitrine::cli::refusal_log::left_out_kind;
  CHECK(vitrine::cli::refusal_log::line("h:1", "why", {{"a 1", 1, true}}) ==
        "vitrine node: closed the connection of h:1: why (and 1 other since "
        "the last such line: 1 a 1)");
  CHECK(vitrine::cli::refusal_log::line(
            "h:1", "why", {kind{"a 1", 3, false}, kind{"b", 1, true}}, 2) ==
        "vitrine node: closed the connection of h:1: why (and 6 others since "
        "the last such line: 3 such as a 1; 1 b; 2 for other reasons)");
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE(
    "refusal_log sums up a burst once the spacing has passed, without "
    "waiting for another refusal",
    "[cli]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
  vitrine::cli::refusal_log log{fds[1], 300ms};
  CHECK(log.summary_due_in().count() < 0);  // nothing left out
  log.report("127.0.0.1:1", "not BASP framing (operation 71)");
  CHECK(log.summary_due_in().count() < 0);
  log.report("127.0.0.1:2", "a handshake without a payload");
  log.report("127.0.0.1:3", "not BASP framing (operation 72)");
  const auto due = log.summary_due_in();
  CHECK(due.count() >= 0);
  CHECK(due <= 300ms);
  log.flush();  // too early: nothing more than the first line
  const auto first = drain(fds[0]);
  CHECK(first.find("127.0.0.1:1") != std::string::npos);
  CHECK(first.find("other") == std::string::npos);
  std::this_thread::sleep_for(due + 50ms);
  CHECK(log.summary_due_in() == 0ms);
  log.flush();
  const auto summary = drain(fds[0]);
  INFO(summary);
  CHECK(summary.find("vitrine node: closed 2 other connections since the "
                     "last such line: 1 a handshake without a payload; 1 "
                     "not BASP framing (operation 72)\n") != std::string::npos);
  // Told once: nothing left out now, and the next refusal is counted from
  // the summary's time.
  CHECK(log.summary_due_in().count() < 0);
  log.flush();
  CHECK(drain(fds[0]).empty());
  log.report("127.0.0.1:4", "x");
  CHECK(drain(fds[0]).empty());
  CHECK(log.summary_due_in().count() >= 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE(
    "refusal_log's wake fd says when a connection is left out, and "
    "flush() drains it",
    "[cli]") {
  const auto readable = [](int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
  };
  int fds[2];
  REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
  vitrine::cli::refusal_log log{fds[1], 300ms};
  REQUIRE(log.wake_fd() >= 0);
  log.report("127.0.0.1:1", "not BASP framing (operation 71)");
  CHECK_FALSE(readable(log.wake_fd()));  // written: nothing left out
  log.report("127.0.0.1:2", "not BASP framing (operation 71)");
  CHECK(readable(log.wake_fd()));
  CHECK(log.summary_due_in() > 0ms);
  log.flush();  // too early: drained, nothing written
  CHECK_FALSE(readable(log.wake_fd()));
  CHECK(drain(fds[0]).find("127.0.0.1:2") == std::string::npos);
  log.report("127.0.0.1:3", "not BASP framing (operation 71)");
  CHECK_FALSE(readable(log.wake_fd()));  // said once per line
  std::this_thread::sleep_for(350ms);
  CHECK(log.summary_due_in() == 0ms);
  log.flush();
  CHECK(drain(fds[0]).find("closed 2 other connections") != std::string::npos);
  CHECK(log.summary_due_in() < 0ms);
  ::close(fds[0]);
  ::close(fds[1]);
}
