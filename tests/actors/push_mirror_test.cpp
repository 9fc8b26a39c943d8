// The push baseline (baseline/push_mirror.hpp): a subscriber actor keeps a
// copy of each process's state that host threads read through a seqlock.
#include <csignal>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"
#include "vitrine/baseline/messaging.hpp"
#include "vitrine/baseline/push_mirror.hpp"

using namespace vitrine;
using namespace vitrine::test;
using baseline::push_mirror;
using baseline::pushed_state;
using baseline::state_seqlock;
using core::process_status;

TEST_CASE("a state_seqlock reader never sees a torn copy", "[push]") {
  state_seqlock lock;
  std::atomic<bool> done{false}, reading{false};
  const auto make = [](std::uint64_t v) {
    pushed_state s;
    s.version = v;
    s.pid = static_cast<pid_t>(v % 100'000);
    s.restart_count = static_cast<std::uint32_t>(v);
    s.applied_command = v * 3;
    s.spawn_errno = static_cast<int>(v % 7);
    return s;
  };
  lock.store(make(1));
  std::thread writer([&] {
    while (!reading.load()) std::this_thread::yield();
    for (std::uint64_t v = 2; v < 200'000; ++v) lock.store(make(v));
    done = true;
  });
  std::uint64_t torn = 0, last = 0, backwards = 0, reads = 0;
  reading = true;
  while (!done.load()) {
    const auto s = lock.load();
    const auto expect = make(s.version);
    if (s.pid != expect.pid || s.restart_count != expect.restart_count ||
        s.applied_command != expect.applied_command ||
        s.spawn_errno != expect.spawn_errno)
      ++torn;
    if (s.version < last) ++backwards;
    last = s.version;
    ++reads;
  }
  writer.join();
  CHECK(torn == 0);
  CHECK(backwards == 0);
  CHECK(reads > 0);
  CHECK(lock.load().version == 199'999);
}

namespace {

void mirror_follows_restarts(runtime& rt) {
  std::vector<process_handle> handles;
  for (int i = 0; i < 2; ++i)
    handles.push_back(
        rt.supervise(sh("pushed" + std::to_string(i), "exec sleep 30")));
  for (auto& h : handles) REQUIRE(reaches(h, process_status::running));
  push_mirror mirror{rt, handles};
  REQUIRE(mirror.size() == 2);
  // The initial copy arrives without any transition.
  for (std::size_t i = 0; i < 2; ++i) {
    REQUIRE(mirror.wait_for_version(i, 1, in(patience)));
    const auto copy = mirror.read(i);
    CHECK(copy.status == process_status::running);
    CHECK(copy.pid == handles[i].read()->pid);
  }
  // A crash of process 1 reaches its copy; process 0's copy is unchanged.
  const auto before0 = mirror.read(0);
  const auto before1 = mirror.read(1);
  REQUIRE(::kill(before1.pid, SIGKILL) == 0);
  REQUIRE(reaches_when(handles[1], [&](const core::process_state& s) {
    return s.status == process_status::running && s.pid != before1.pid;
  }));
  const auto now1 = handles[1].read();
  REQUIRE(mirror.wait_for_version(1, now1->version, in(patience)));
  const auto after1 = mirror.read(1);
  CHECK(after1.version == now1->version);
  CHECK(after1.pid == now1->pid);
  CHECK(after1.status == process_status::running);
  CHECK(after1.restart_count == before1.restart_count + 1);
  CHECK(after1.last_exit.how == core::termination::kind::signaled);
  CHECK(after1.last_exit.value == SIGKILL);
  CHECK(mirror.read(0).version == before0.version);
  CHECK(mirror.read(0).pid == before0.pid);
  // Every transition was pushed: initial replies + backoff, starting,
  // running (at least) for the crash.
  CHECK(mirror.received() >= 2 + 2);
}

}  // namespace

TEST_CASE_METHOD(runtime_fixture,
                 "a push mirror holds the current state of each process and "
                 "follows its restarts (hybrid runtime)",
                 "[push]") {
  mirror_follows_restarts(rt);
}

TEST_CASE("a push mirror follows restarts on a messaging runtime",
          "[push][messaging]") {
  leak_checker leaks;
  auto options = patient_root();
  options.reads = &baseline::messaging_reads();
  runtime rt{options};
  mirror_follows_restarts(rt);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a push mirror can be destroyed while its process lives on "
                 "and restarts; an empty handle is refused",
                 "[push]") {
  auto h = rt.supervise(sh("unsubscribed", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  { push_mirror mirror{rt, {h}}; }
  const auto pid = h.read()->pid;
  REQUIRE(::kill(pid, SIGKILL) == 0);
  CHECK(reaches_when(h, [&](const core::process_state& s) {
    return s.status == process_status::running && s.pid != pid;
  }));
  CHECK_THROWS_AS(push_mirror(rt, {process_handle{}}), std::invalid_argument);
}
