// The reference reclaimers of the design study (baseline/: epoch-based
// reclamation and QSBR): garbage stays bounded while readers make progress,
// a stalled reader keeps everything retired after it started, QSBR's
// offline/quiescent contract, and a thread's leftovers freed after it exits.
// Use-after-free is caught by the typed stress and cell tests under ASan.
#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "counted.hpp"
#include "vitrine/baseline/epoch_reclaimer.hpp"
#include "vitrine/baseline/qsbr_reclaimer.hpp"
#include "vitrine/core/publication_cell.hpp"

using vitrine::baseline::epoch_reclaimer;
using vitrine::baseline::qsbr_reclaimer;
using vitrine::core::publication_cell;
using vitrine::test::counted;

namespace {

constexpr std::size_t batch =
    vitrine::baseline::detail::epoch_domain::retire_batch;

/// What a reader does between reads: QSBR readers report a quiescent state.
template <class R>
void between_reads() {
  if constexpr (std::is_same_v<R, qsbr_reclaimer>) R::quiescent();
}

}  // namespace

TEMPLATE_TEST_CASE("garbage stays bounded while readers keep reading",
                   "[epoch_reclaimers]", epoch_reclaimer, qsbr_reclaimer) {
  TestType::reclaim_now();
  REQUIRE(TestType::pending() == 0);
  publication_cell<counted, TestType> cell{std::in_place, 0u};
  constexpr int readers = 2;
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> inconsistent{0};
  std::vector<std::atomic<std::uint64_t>> reads(readers);
  std::vector<std::thread> threads;
  for (int r = 0; r < readers; ++r)
    threads.emplace_back([&, r] {
      while (!done.load(std::memory_order_acquire)) {
        {
          auto s = cell.read();
          if (!s->consistent()) inconsistent.fetch_add(1);
        }
        between_reads<TestType>();
        reads[r].fetch_add(1, std::memory_order_release);
      }
    });
  std::size_t most_pending = 0;
  std::uint64_t v = 0;
  for (int round = 0; round < 200; ++round) {
    for (std::size_t k = 0; k < batch; ++k) cell.emplace(++v);
    // Every reader finishes two more reads: its guards of older versions
    // are gone, so the next collect must free every full batch.
    std::vector<std::uint64_t> seen;
    for (auto& n : reads) seen.push_back(n.load(std::memory_order_acquire));
    for (int r = 0; r < readers; ++r)
      while (reads[r].load(std::memory_order_acquire) < seen[r] + 2)
        std::this_thread::yield();
    TestType::reclaim_now();
    most_pending = std::max(most_pending, TestType::pending());
  }
  done = true;
  for (auto& t : threads) t.join();
  INFO("most nodes pending after a collect: " << most_pending);
  CHECK(most_pending <= batch);
  CHECK(inconsistent.load() == 0);
  CHECK(cell.read()->version == v);
}

TEMPLATE_TEST_CASE(
    "a stalled reader keeps every node retired after it began, until it ends",
    "[epoch_reclaimers]", epoch_reclaimer, qsbr_reclaimer) {
  TestType::reclaim_now();  // what earlier tests left
  REQUIRE(TestType::pending() == 0);
  const auto live_before = counted::live.load();
  {
    publication_cell<counted, TestType> cell{std::in_place, 0u};
    std::atomic<int> phase{0};  // 1: holding, 2: may release
    std::thread reader{[&] {
      auto held = cell.read();
      phase = 1;
      while (phase.load() != 2) std::this_thread::yield();
      CHECK(held->version == 0);
      CHECK(held->consistent());
    }};
    while (phase.load() != 1) std::this_thread::yield();
    const std::size_t publishes = 10 * batch;
    for (std::uint64_t v = 1; v <= publishes; ++v) cell.emplace(v);
    TestType::reclaim_now();
    CHECK(TestType::pending() == publishes);  // nothing could be freed
    phase = 2;
    reader.join();  // its guard ended and its thread went offline
    TestType::reclaim_now();
    CHECK(TestType::pending() == 0);
    CHECK(counted::live.load() == live_before + 1);  // the current version
  }
  TestType::reclaim_now();
  CHECK(counted::live.load() == live_before);
}

TEST_CASE(
    "a QSBR thread that neither reads nor reports holds reclamation "
    "back until it goes offline",
    "[epoch_reclaimers][qsbr]") {
  qsbr_reclaimer::reclaim_now();
  REQUIRE(qsbr_reclaimer::pending() == 0);
  publication_cell<counted, qsbr_reclaimer> cell{std::in_place, 0u};
  std::atomic<int> phase{0};
  std::thread idle{[&] {
    CHECK(cell.read()->consistent());  // online from here on
    phase = 1;
    while (phase.load() != 2) std::this_thread::yield();
    qsbr_reclaimer::offline();
    phase = 3;
    while (phase.load() != 4) std::this_thread::yield();
  }};
  while (phase.load() != 1) std::this_thread::yield();
  for (std::uint64_t v = 1; v <= 3 * batch; ++v) cell.emplace(v);
  qsbr_reclaimer::reclaim_now();
  CHECK(qsbr_reclaimer::pending() == 3 * batch);
  phase = 2;
  while (phase.load() != 3) std::this_thread::yield();
  qsbr_reclaimer::reclaim_now();
  CHECK(qsbr_reclaimer::pending() == 0);
  phase = 4;
  idle.join();
}

TEMPLATE_TEST_CASE("what an exited thread retired is freed by another",
                   "[epoch_reclaimers]", epoch_reclaimer, qsbr_reclaimer) {
  TestType::reclaim_now();
  publication_cell<counted, TestType> cell{std::in_place, 0u};
  std::thread writer{[&] {
    for (std::uint64_t v = 1; v < batch / 2; ++v) cell.emplace(v);
  }};
  writer.join();
  CHECK(TestType::pending() == batch / 2 - 1);
  TestType::reclaim_now();
  CHECK(TestType::pending() == 0);
}
