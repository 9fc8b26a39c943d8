// runtime::publications() and publication_fd(): what `vitrine run`'s idle
// loop relies on to sleep until something changes.
#include <poll.h>

#include <catch2/catch.hpp>

#include "test_support.hpp"
#include "vitrine/runtime.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;

namespace {

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/// A count that held still for 300 ms: the count is bumped just after a
/// state is published, so a reader that saw the state may still see the
/// count move once.
std::uint64_t settled_count(const runtime& rt) {
  for (;;) {
    const auto seen = rt.publications();
    if (!eventually([&] { return rt.publications() != seen; }, ms{300}))
      return seen;
  }
}

}  // namespace

TEST_CASE_METHOD(runtime_fixture,
                 "publications() grows with every published change and is "
                 "still while nothing happens",
                 "[runtime][publications]") {
  const auto empty = rt.publications();
  auto h = rt.supervise(sh("counted", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  const auto running = settled_count(rt);
  CHECK(running > empty);
  // A running sleep publishes nothing: the count stays where it is.
  CHECK_FALSE(
      eventually([&] { return rt.publications() != running; }, ms{300}));
  REQUIRE(h.stop());
  REQUIRE(reaches(h, process_status::stopped));
  // stopping, stopped: the count is bumped just after the publish a reader
  // may already have seen (settled_count above), so wait for it.
  CHECK(eventually([&] { return rt.publications() >= running + 2; }));
}

TEST_CASE_METHOD(runtime_fixture,
                 "an armed publication fd wakes its poller at the next "
                 "change only",
                 "[runtime][publications]") {
  auto h = rt.supervise(sh("waker", "exec sleep 30"));
  REQUIRE(reaches(h, process_status::running));
  const int fd = rt.publication_fd();
  REQUIRE(fd >= 0);
  // Armed against an old count: refused, so the caller reads first.
  CHECK_FALSE(rt.arm_publication_fd(rt.publications() - 1));
  REQUIRE(rt.arm_publication_fd(settled_count(rt)));
  CHECK_FALSE(readable(fd, 200));  // nothing changed
  const pid_t old = h.read()->pid;
  REQUIRE(h.signal(SIGKILL));
  CHECK(readable(fd, 20'000));
  REQUIRE(reaches_when(h, [old](const core::process_state& s) {
    return s.status == process_status::running && s.pid != old;
  }));
  // Re-arming drains it: quiet again until the next change.
  REQUIRE(rt.arm_publication_fd(settled_count(rt)));
  CHECK_FALSE(readable(fd, 200));
  REQUIRE(h.stop());
  CHECK(readable(fd, 20'000));
}
