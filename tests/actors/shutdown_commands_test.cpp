// Commands while the runtime shuts down: those that would start something
// or signal a program are refused from the moment the shutdown begins, so
// host threads sending them in a loop cannot hold the shutdown (an outside
// tester's: four such threads kept shutdown() from returning for minutes).
#include <signal.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;

TEST_CASE(
    "once the shutdown began, start, restart, signal and a supervisor's "
    "start send nothing; stop and kill still do",
    "[runtime][shutdown]") {
  leak_checker leaks;
  runtime rt;
  auto h = rt.supervise(sh("svc", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  const auto handled = h.messages_handled();
  rt.begin_shutdown();
  CHECK_FALSE(h.start());
  CHECK_FALSE(h.restart());
  CHECK_FALSE(h.signal(SIGCONT));
  CHECK_FALSE(rt.root().start());
  // Nothing reached the actor (each command it handles is counted).
  CHECK(h.messages_handled() == handled);
  const auto stopped = h.stop();
  CHECK(stopped);
  CHECK(stopped.wait_for_status(process_status::stopped, in(patience)));
  CHECK(h.read()->status == process_status::stopped);
  rt.shutdown();
}

TEST_CASE(
    "host threads sending starts and signals in a loop do not hold "
    "shutdown() past its programs' stop",
    "[runtime][shutdown]") {
  leak_checker leaks;
  runtime rt;
  auto spec = sh("svc", "exec sleep 30");
  spec.stop_timeout = 1000ms;
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::running));
  std::atomic<bool> go{true}, began{false};
  std::atomic<long> taken_after_begin{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < 4; ++i)
    senders.emplace_back([&, i] {
      while (go.load(std::memory_order_relaxed)) {
        const bool before = !began.load();
        const bool taken = i % 2 ? h.signal(SIGCONT) : bool(h.start());
        if (taken && !before) ++taken_after_begin;
      }
    });
  std::this_thread::sleep_for(200ms);  // a backlog builds up meanwhile
  rt.begin_shutdown();
  began = true;
  auto done = std::async(std::launch::async, [&] { rt.shutdown(); });
  // Before: shutdown() had not returned after 170 s (the tester's run);
  // the bound is the patience of these tests, far above the 1 s stop.
  const bool returned = done.wait_for(std::chrono::milliseconds{patience}) ==
                        std::future_status::ready;
  go = false;
  for (auto& t : senders) t.join();
  CHECK(returned);
  done.get();
  CHECK(taken_after_begin == 0);
  CHECK(h.read()->status == process_status::stopped);
}
