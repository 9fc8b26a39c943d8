#include "vitrine/core/publication_cell.hpp"

#include <chrono>
#include <optional>
#include <thread>
#include <type_traits>

#include <catch2/catch.hpp>

#include "counted.hpp"
#include "reclaimers.hpp"
#include "vitrine/baseline/urcu_reclaimer.hpp"

using namespace vitrine::core;
using vitrine::test::counted;
using namespace std::chrono_literals;

namespace {
auto in(std::chrono::milliseconds d) {
  return std::chrono::steady_clock::now() + d;
}
}  // namespace

TEMPLATE_TEST_CASE("a reader sees the initial value, then each publish",
                   "[publication_cell]", VITRINE_TEST_RECLAIMERS) {
  publication_cell<int, TestType> cell{7};
  CHECK(*cell.read() == 7);
  CHECK(cell.publications() == 0);
  cell.publish(8);
  CHECK(*cell.read() == 8);
  CHECK(cell.current_unsafe() == 8);
  CHECK(cell.publications() == 1);
}

TEMPLATE_TEST_CASE("a held snapshot survives later publishes unchanged",
                   "[publication_cell]", VITRINE_TEST_RECLAIMERS) {
  const auto live_before = counted::live.load();
  {
    publication_cell<counted, TestType> cell{std::in_place, 1u};
    {
      auto held = cell.read();
      for (std::uint64_t v = 2; v < 1000; ++v) cell.emplace(v);
      // liburcu forbids waiting for a grace period inside a read section.
      if constexpr (std::is_same_v<TestType, hazard_pointer_reclaimer>)
        TestType::reclaim_now();
      CHECK(held->version == 1);
      CHECK(held->consistent());
      CHECK(cell.read()->version == 999);
    }
  }
  TestType::reclaim_now();
  CHECK(counted::live.load() == live_before);
}

namespace {
struct defaulted : counted {
  defaulted() : counted(0) {}
  explicit defaulted(std::uint64_t v) : counted(v) {}
};
}  // namespace

TEMPLATE_TEST_CASE(
    "cells that start with the default share one snapshot, never freed",
    "[publication_cell]", VITRINE_TEST_RECLAIMERS) {
  { publication_cell<defaulted, TestType> first; }  // builds the default
  TestType::reclaim_now();
  const auto live_before = counted::live.load();
  {
    publication_cell<defaulted, TestType> a;
    publication_cell<defaulted, TestType> b;
    CHECK(counted::live.load() == live_before);  // no snapshot of their own
    {
      auto from_a = a.read();
      auto from_b = b.read();
      CHECK(from_a.get() == from_b.get());
      CHECK(from_a->version == 0);
    }
    a.emplace(5u);
    CHECK(a.read()->version == 5);
    CHECK(b.read()->version == 0);
  }  // a retires its own snapshot, b the default: only a's goes
  TestType::reclaim_now();
  CHECK(counted::live.load() == live_before);
  const publication_cell<defaulted, TestType> later;
  CHECK(later.read()->consistent());  // poisoned if it had been freed
  CHECK(later.read()->version == 0);
}

TEMPLATE_TEST_CASE(
    "a waiter wakes when another thread publishes what it waits for",
    "[publication_cell]", VITRINE_TEST_RECLAIMERS) {
  publication_cell<int, TestType> cell{0};
  std::thread writer{[&] {
    for (int v = 1; v <= 5; ++v) {
      std::this_thread::sleep_for(1ms);
      cell.publish(v);
    }
  }};
  CHECK(cell.wait_until([](int v) { return v == 5; }, in(30s)));
  writer.join();
}

TEMPLATE_TEST_CASE("a wait with nothing published ends at its deadline",
                   "[publication_cell]", VITRINE_TEST_RECLAIMERS) {
  publication_cell<int, TestType> cell{0};
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(cell.wait_until([](int v) { return v == 1; }, in(20ms)));
  CHECK(std::chrono::steady_clock::now() - start >= 20ms);
  CHECK_FALSE(cell.wait_for_publication(cell.publications(), in(5ms)));
}

TEST_CASE("a wait already satisfied returns at once", "[publication_cell]") {
  publication_cell<int> cell{3};
  const auto past = std::chrono::steady_clock::now() - 1s;
  CHECK(cell.wait_until([](int v) { return v == 3; }, past));
  cell.publish(4);
  CHECK(cell.wait_for_publication(0, past));
}

TEST_CASE("a thread may hold several snapshots at once, released in any order",
          "[publication_cell][hazard_pointer]") {
  publication_cell<int> a{1}, b{2}, c{3};
  std::optional<publication_cell<int>::snapshot> sa;
  sa.emplace(a);
  {
    auto sb = b.read();
    auto sc = c.read();
    sa.reset();  // released before the younger ones
    a.publish(10);
    CHECK(*sb == 2);
    CHECK(*sc == 3);
  }
  CHECK(*a.read() == 10);
}

TEST_CASE("nodes retired by an exited thread are freed by a later scan",
          "[hazard_pointer]") {
  const auto live_before = counted::live.load();
  auto cell = std::make_unique<publication_cell<counted>>(std::in_place, 0u);
  std::thread writer{[&] {
    for (std::uint64_t v = 1; v <= 50; ++v) cell->emplace(v);
    cell.reset();  // retire the last node from this thread too
  }};
  writer.join();
  hazard_pointer_reclaimer::reclaim_now();
  CHECK(counted::live.load() == live_before);
  CHECK(hazard_pointer_reclaimer::pending() == 0);
}

TEST_CASE("a writer thread that scanned can exit cleanly, its garbage freed",
          "[hazard_pointer]") {
  // Regression: the scan scratch buffer used to be a thread_local destroyed
  // before the thread-exit hook that scans one last time.
  const auto live_before = counted::live.load();
  publication_cell<counted> cell{std::in_place, 0u};
  std::thread writer{[&] {
    auto s = cell.read();  // this thread also reads, so it holds a slot
    for (std::uint64_t v = 1; v <= 2000; ++v) cell.emplace(v);
  }};
  writer.join();
  hazard_pointer_reclaimer::reclaim_now();
  CHECK(counted::live.load() == live_before + 1);  // only the current one
  CHECK(cell.read()->version == 2000);
}

TEMPLATE_TEST_CASE("close() ends the waits that its last snapshot fails",
                   "[publication_cell][close]", VITRINE_TEST_RECLAIMERS) {
  publication_cell<int, TestType> cell{0};
  CHECK_FALSE(cell.closed());
  const auto start = std::chrono::steady_clock::now();
  std::optional<bool> woke;
  std::thread waiter{
      [&] { woke = cell.wait_until([](int v) { return v == 5; }, in(60s)); }};
  cell.publish(1);
  cell.publish(2);
  cell.close();
  waiter.join();
  REQUIRE(woke.has_value());
  CHECK_FALSE(*woke);
  CHECK(cell.closed());
  // Later waits check the last snapshot and return without sleeping.
  CHECK(cell.wait_until([](int v) { return v == 2; }, in(60s)));
  CHECK_FALSE(cell.wait_until([](int v) { return v == 3; }, in(60s)));
  cell.close();  // idempotent
  CHECK(cell.closed());
  CHECK(*cell.read() == 2);
  // Long before any of the 60 s deadlines.
  CHECK(std::chrono::steady_clock::now() - start < 30s);
}

TEMPLATE_TEST_CASE(
    "a wait satisfied by the last publish before close() sees it",
    "[publication_cell][close]", VITRINE_TEST_RECLAIMERS) {
  // The waiter may read the closed flag, the count and the snapshot in any
  // interleaving with the writer's last publish and close; it must never
  // miss that last publish.
  for (int round = 0; round < 200; ++round) {
    publication_cell<int, TestType> cell{0};
    std::optional<bool> woke;
    std::thread waiter{[&] {
      woke = cell.wait_until([&](int v) { return v == round + 1; }, in(60s));
    }};
    if (round % 2) std::this_thread::yield();
    cell.publish(round + 1);
    cell.close();
    waiter.join();
    REQUIRE(woke == std::optional<bool>{true});
  }
}
