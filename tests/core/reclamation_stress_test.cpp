// Stress tests of the publication cell: readers on several threads while one
// writer publishes as fast as it can. Run under ASan and TSan by the test
// command (scripts/test.sh).
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "counted.hpp"
#include "reclaimers.hpp"
#include "vitrine/baseline/urcu_reclaimer.hpp"
#include "vitrine/core/publication_cell.hpp"

using namespace vitrine::core;
using vitrine::baseline::urcu_memb_reclaimer;
using vitrine::test::counted;

namespace {

// Sanitized builds are 5-20x slower; VITRINE_STRESS_SCALE divides the counts.
std::uint64_t scaled(std::uint64_t n) {
  const char* s = std::getenv("VITRINE_STRESS_SCALE");
  const std::uint64_t div = s ? std::max(1ul, std::stoul(s)) : 1;
  return n / div;
}

struct reader_report {
  std::uint64_t reads = 0;
  std::uint64_t inconsistent = 0;
  std::uint64_t went_backwards = 0;
};

template <class Reclaimer>
void run_readers_against_writer(std::uint64_t publishes, int readers,
                                std::int64_t* max_live_seen) {
  const auto live_before = counted::live.load();
  publication_cell<counted, Reclaimer> cell{std::in_place, 0u};
  std::atomic<bool> done{false};
  std::atomic<int> reading{0};  // readers that have read once
  std::vector<reader_report> reports(readers);
  std::vector<std::thread> threads;
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      auto& report = reports[r];
      std::uint64_t last = 0;
      while (!done.load(std::memory_order_acquire)) {
        auto s = cell.read();
        if (!s->consistent()) ++report.inconsistent;
        if (s->version < last) ++report.went_backwards;
        last = s->version;
        if (report.reads++ == 0) reading.fetch_add(1);
      }
    });
  }
  // On a loaded machine a reader may not run before the writer is done:
  // start publishing once every reader is in its loop.
  while (reading.load() != readers) std::this_thread::yield();
  std::int64_t max_live = 0;
  for (std::uint64_t v = 1; v <= publishes; ++v) {
    cell.emplace(v);
    if ((v & 1023) == 0)
      max_live = std::max(max_live, counted::live.load() - live_before);
  }
  done.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  for (const auto& report : reports) {
    CHECK(report.reads > 0);
    CHECK(report.inconsistent == 0);
    CHECK(report.went_backwards == 0);
  }
  CHECK(cell.read()->version == publishes);
  if (max_live_seen) *max_live_seen = max_live;
}

}  // namespace

TEMPLATE_TEST_CASE(
    "readers see consistent, monotonic snapshots while 10^6 versions publish",
    "[stress]", VITRINE_TEST_RECLAIMERS) {
  run_readers_against_writer<TestType>(scaled(1'000'000), 3, nullptr);
  TestType::reclaim_now();
}

TEST_CASE("hazard pointers keep live snapshots bounded over 10^7 publishes",
          "[stress][hazard_pointer]") {
  const auto live_before = counted::live.load();
  std::int64_t max_live = 0;
  run_readers_against_writer<hazard_pointer_reclaimer>(scaled(10'000'000), 2,
                                                       &max_live);
  // Bound: one scan threshold of garbage on the writer, plus the readers'
  // protected nodes, plus the live snapshot.
  const auto bound = static_cast<std::int64_t>(
      hazard_pointer_reclaimer::scan_threshold() +
      3 * hazard_pointer_reclaimer::slots_per_thread + 1);
  INFO("max live snapshots: " << max_live << ", bound " << bound);
  CHECK(max_live <= bound);
  hazard_pointer_reclaimer::reclaim_now();
  CHECK(counted::live.load() == live_before);
}

#if !defined(VITRINE_TSAN)
TEST_CASE("urcu keeps nothing alive after its barrier", "[stress][urcu]") {
  const auto live_before = counted::live.load();
  run_readers_against_writer<urcu_memb_reclaimer>(scaled(1'000'000), 2,
                                                  nullptr);
  urcu_memb_reclaimer::reclaim_now();
  CHECK(counted::live.load() == live_before);
}
#endif
