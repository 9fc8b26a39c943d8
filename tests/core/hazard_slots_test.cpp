// The hazard-pointer reader's limits and bounds: any number of live
// snapshots per thread, what an idle reader can pin, how often writers scan,
// the futex wait, and which fence the process runs with.
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "counted.hpp"
#include "vitrine/core/detail/asymmetric_fence.hpp"
#include "vitrine/core/hazard_pointer.hpp"
#include "vitrine/core/publication_cell.hpp"
#include "vitrine/core/registry.hpp"

using namespace vitrine::core;
using vitrine::test::counted;
using hp = hazard_pointer_reclaimer;

namespace {

// Holds `n` live snapshots of `n` cells on this thread, makes every cell
// publish and reclaim, and checks each held snapshot is intact; then frees.
void hold_snapshots_across_publishes(std::size_t n) {
  const auto live_before = counted::live.load();
  std::vector<std::unique_ptr<publication_cell<counted>>> cells;
  for (std::size_t i = 0; i < n; ++i)
    cells.push_back(
        std::make_unique<publication_cell<counted>>(std::in_place, i));
  {
    std::vector<std::optional<publication_cell<counted>::snapshot>> held(n);
    for (std::size_t i = 0; i < n; ++i) held[i].emplace(*cells[i]);
    CHECK(hp::slots_of_current_thread() >= n);
    for (std::size_t i = 0; i < n; ++i) cells[i]->emplace(1000 + i);
    hp::reclaim_now();
    // Every old snapshot is still held, so none may have been freed.
    CHECK(counted::live.load() - live_before ==
          static_cast<std::int64_t>(2 * n));
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE((*held[i])->consistent());
      CHECK((*held[i])->version == i);
    }
    // Release in an order unlike the claims: odd ones first.
    for (std::size_t i = 1; i < n; i += 2) held[i].reset();
  }
  hp::reclaim_now();
  CHECK(counted::live.load() - live_before == static_cast<std::int64_t>(n));
  for (std::size_t i = 0; i < n; ++i)
    CHECK(cells[i]->read()->version == 1000 + i);
  cells.clear();
  hp::reclaim_now();
  CHECK(counted::live.load() == live_before);
}

}  // namespace

TEST_CASE("nine live snapshots on one thread stay protected",
          "[hazard_pointer][slots]") {
  hold_snapshots_across_publishes(hp::slots_per_thread + 1);
}

TEST_CASE("a hundred live snapshots on one thread stay protected",
          "[hazard_pointer][slots]") {
  hold_snapshots_across_publishes(100);
  // Overflow slots are reused, not grown, by the next burst.
  const auto slots = hp::slots_of_current_thread();
  hold_snapshots_across_publishes(100);
  CHECK(hp::slots_of_current_thread() == slots);
}

TEST_CASE(
    "an idle reader that last looked at an old registry table pins "
    "none of it",
    "[hazard_pointer][registry]") {
  struct value {
    std::string text;
  };
  registry<value> reg;
  auto doomed = std::make_shared<value>(value{"doomed"});
  std::weak_ptr<value> watch = doomed;
  REQUIRE(reg.insert("doomed", std::move(doomed)));

  std::mutex m;
  std::condition_variable cv;
  bool looked = false, done = false;
  std::thread reader{[&] {
    {
      auto found = reg.lookup("doomed");  // announces the table
      REQUIRE(found);
      CHECK(found->text == "doomed");
      auto view = reg.snapshot();
      CHECK(view->size() == 1);
    }
    std::unique_lock lock{m};
    looked = true;
    cv.notify_all();
    cv.wait(lock, [&] { return done; });  // idle, thread and record alive
  }};
  {
    std::unique_lock lock{m};
    cv.wait(lock, [&] { return looked; });
  }
  REQUIRE(reg.erase("doomed"));
  for (int i = 0; i < 100; ++i)
    REQUIRE(reg.insert("filler" + std::to_string(i),
                       std::make_shared<value>(value{"x"})));
  hp::reclaim_now();
  CHECK(watch.expired());  // the idle reader's old table did not keep it
  {
    std::lock_guard lock{m};
    done = true;
  }
  cv.notify_all();
  reader.join();
}

TEST_CASE("an idle reader pins at most one snapshot per inline slot",
          "[hazard_pointer]") {
  const auto live_before = counted::live.load();
  publication_cell<counted> cell{std::in_place, 0u};
  std::mutex m;
  std::condition_variable cv;
  bool looked = false, done = false;
  std::thread reader{[&] {
    CHECK(cell.read()->version == 0);  // lazily keeps announcing node 0
    std::unique_lock lock{m};
    looked = true;
    cv.notify_all();
    cv.wait(lock, [&] { return done; });
  }};
  {
    std::unique_lock lock{m};
    cv.wait(lock, [&] { return looked; });
  }
  for (std::uint64_t v = 1; v <= 1000; ++v) cell.emplace(v);
  hp::reclaim_now();
  // The current node plus at most the one the idle reader announced.
  CHECK(counted::live.load() - live_before <= 2);
  {
    std::lock_guard lock{m};
    done = true;
  }
  cv.notify_all();
  reader.join();
}

TEST_CASE("building a registry one insert at a time costs O(N), not N scans",
          "[registry][hazard_pointer]") {
  constexpr std::size_t n = 20'000;
  registry<int> reg;
  hp::reclaim_now();
  const auto scans_before = hp::scans();
  for (std::size_t i = 0; i < n; ++i)
    REQUIRE(reg.insert(std::string{"p"}.append(std::to_string(i)),
                       std::make_shared<int>(i)));
  const auto scans = hp::scans() - scans_before;
  INFO("scans: " << scans << ", threshold " << hp::scan_threshold());
  CHECK(scans <= n / hp::scan_threshold() + 1);
  CHECK(reg.entries_copied() < 2 * n);  // doubling storage, not n copies
  CHECK(reg.snapshot()->size() == n);
  for (std::size_t i = 0; i < n; i += 997)
    CHECK(*reg.lookup(std::string{"p"}.append(std::to_string(i))) ==
          static_cast<int>(i));
}

TEST_CASE("an old registry view keeps its revision while inserts append",
          "[registry]") {
  registry<int> reg;
  REQUIRE(reg.insert("a", std::make_shared<int>(1)));
  auto old = reg.snapshot();
  for (int i = 0; i < 3; ++i)  // same storage, then a grown one
    REQUIRE(reg.insert(std::string{"n"}.append(std::to_string(i)),
                       std::make_shared<int>(i)));
  for (int i = 3; i < 40; ++i)
    REQUIRE(reg.insert(std::string{"n"}.append(std::to_string(i)),
                       std::make_shared<int>(i)));
  CHECK(old->size() == 1);
  CHECK(old->find("n0", decltype(reg)::key_hash("n0")) == nullptr);
  CHECK(old->find("a", decltype(reg)::key_hash("a")) != nullptr);
  CHECK(reg.snapshot()->size() == 41);
  CHECK(*reg.lookup("n39") == 39);
}

TEST_CASE("a futex waiter on another thread wakes on publish",
          "[publication_cell][futex]") {
  publication_cell<int> cell{0};
  const auto seen = cell.publications();
  bool woke = false;
  std::thread waiter{[&] {
    woke = cell.wait_until(
        [](int v) { return v == 7; },
        std::chrono::steady_clock::now() + std::chrono::seconds{60});
  }};
  for (int v = 1; v <= 7; ++v) cell.publish(v);
  waiter.join();
  CHECK(woke);
  CHECK(cell.publications() == seen + 7);
}

TEST_CASE("the process runs with the fence the environment asks for",
          "[fence]") {
  const char* forced = std::getenv("VITRINE_FENCE_FALLBACK");
  const auto kind = detail::prepare_fences();
  if (forced != nullptr && std::string_view{forced} == "1") {
    CHECK(kind == detail::fence_kind::thread_fence);
    CHECK(detail::readers_fence);
  } else {
    // This machine kind has membarrier; elsewhere the fallback is fine too.
    CHECK(detail::readers_fence == (kind == detail::fence_kind::thread_fence));
  }
}

TEST_CASE(
    "a moved guard keeps protecting its node and the moved-from one "
    "releases nothing",
    "[hazard_pointer][slots]") {
  const auto live_before = counted::live.load();
  {
    publication_cell<counted> cell{std::in_place, 1};
    publication_cell<counted> other{std::in_place, 7};
    std::optional<hp::guard> holder;
    const counted* seen = nullptr;
    {
      // Eager guards withdraw their slot when they end: a moved-from guard
      // that still did so would let the node be freed below.
      hp::guard first{eager_release};
      seen = &cell.read_with(first);
      holder.emplace(std::move(first));
    }
    cell.emplace(2);
    hp::reclaim_now();
    CHECK(counted::live.load() - live_before == 3);
    REQUIRE(seen->consistent());
    CHECK(seen->version == 1);

    // Move assignment releases what the target protected before.
    hp::guard second{eager_release};
    const counted& seven = other.read_with(second);
    CHECK(seven.version == 7);
    second = std::move(*holder);
    holder.reset();
    other.emplace(8);
    hp::reclaim_now();
    CHECK(counted::live.load() - live_before == 3);  // 1 held; 2, 8 current
    CHECK(seen->version == 1);
    second = hp::guard{};  // releases node 1
    hp::reclaim_now();
    CHECK(counted::live.load() - live_before == 2);
  }
  hp::reclaim_now();
  CHECK(counted::live.load() == live_before);
}
