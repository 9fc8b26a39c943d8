// The hazard-pointer reader's own slot lives in thread-local storage: these
// tests cover threads coming and going while a writer scans (a scan must
// never read the slot of a thread that has exited), reads from a
// thread_local destructor (the thread detaches only after those ran), and
// the busy flag that sends a nested guard to another slot.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "counted.hpp"
#include "vitrine/core/hazard_pointer.hpp"
#include "vitrine/core/publication_cell.hpp"

using namespace vitrine::core;
using vitrine::test::counted;
using hp = hazard_pointer_reclaimer;

TEST_CASE(
    "reader threads that come and go while a writer publishes and scans "
    "read intact snapshots and leave nothing pinned",
    "[hazard_pointer][threads]") {
  const auto live_before = counted::live.load();
  const auto scans_before = hp::scans();
  {
    publication_cell<counted> cell{std::in_place, 0u};
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> torn{0};
    std::atomic<std::uint64_t> went_back{0};
    std::thread writer{[&] {
      std::uint64_t v = 0;
      while (!stop.load(std::memory_order_relaxed)) cell.emplace(++v);
      hp::reclaim_now();
    }};
    // Waves of short-lived readers: each thread attaches on its first read,
    // reads while the writer's scans run, and detaches as it exits.
    for (int wave = 0; wave < 40; ++wave) {
      std::vector<std::thread> readers;
      for (int t = 0; t < 4; ++t)
        readers.emplace_back([&] {
          std::uint64_t last = 0;
          for (int i = 0; i < 2000; ++i) {
            auto s = cell.read();
            if (!s->consistent()) torn.fetch_add(1);
            if (s->version < last) went_back.fetch_add(1);
            last = s->version;
          }
        });
      for (auto& r : readers) r.join();
    }
    stop.store(true);
    writer.join();
    CHECK(torn.load() == 0);
    CHECK(went_back.load() == 0);
    CHECK(hp::scans() > scans_before);  // scans ran while threads came and went
    hp::reclaim_now();
    // Only the current snapshot is left: exited readers pin nothing.
    CHECK(counted::live.load() - live_before == 1);
  }
  hp::reclaim_now();
  CHECK(counted::live.load() == live_before);
}

namespace {

// Reads `cell` in its destructor, which runs at thread exit.
struct reads_at_exit {
  publication_cell<counted>* cell = nullptr;
  std::atomic<std::uint64_t>* seen = nullptr;
  ~reads_at_exit() {
    if (cell == nullptr) return;
    auto s = cell->read();
    seen->store(s->consistent() ? s->version : ~std::uint64_t{0});
  }
};

thread_local reads_at_exit exit_reader;

}  // namespace

TEST_CASE(
    "a thread_local destructor may read, and the thread's slots are "
    "released after it",
    "[hazard_pointer][threads]") {
  const auto live_before = counted::live.load();
  {
    publication_cell<counted> cell{std::in_place, 7u};
    std::atomic<std::uint64_t> seen{0};
    std::thread t{[&] {
      // Constructed before the thread's first guard, so destroyed after
      // anything the reclaimer could have registered with a thread_local.
      exit_reader.cell = &cell;
      exit_reader.seen = &seen;
      CHECK(cell.read()->version == 7);
      cell.emplace(8u);
    }};
    t.join();
    CHECK(seen.load() == 8);
    // The exiting thread freed version 7 (it had retired it) as it detached,
    // and withdrew its announcement of version 8, which this scan frees.
    cell.emplace(9u);
    hp::reclaim_now();
    CHECK(counted::live.load() - live_before == 1);
  }
  hp::reclaim_now();
  CHECK(counted::live.load() == live_before);
}

TEST_CASE(
    "a guard made while the own slot is busy takes another slot, and each "
    "keeps its snapshot",
    "[hazard_pointer][slots]") {
  const auto live_before = counted::live.load();
  {
    publication_cell<counted> a{std::in_place, 1u};
    publication_cell<counted> b{std::in_place, 2u};
    {
      auto outer = a.read();  // the own slot
      std::optional<publication_cell<counted>::snapshot> inner;
      inner.emplace(b);  // a nested slot
      a.emplace(10u);
      b.emplace(20u);
      hp::reclaim_now();
      CHECK(outer->version == 1);
      CHECK((*inner)->version == 2);
      CHECK(counted::live.load() - live_before == 4);
      inner.reset();
      hp::reclaim_now();  // b's old snapshot is no longer announced
      CHECK(counted::live.load() - live_before == 3);
      CHECK(outer->consistent());
      // With the own slot still busy, a new read nests again.
      CHECK(b.read()->version == 20);
    }
    // Released: the own slot is free again and rereads an unchanged cell.
    CHECK(a.read()->version == 10);
    CHECK(a.read()->version == 10);
    hp::reclaim_now();
    CHECK(counted::live.load() - live_before == 2);
  }
  hp::reclaim_now();
  CHECK(counted::live.load() == live_before);
}
