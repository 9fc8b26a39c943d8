// vitrine_bench_study_core: the design study's core experiments (no CAF),
// written to results/vitrine_bench_study_core.json (argv[1] overrides):
//
//   dist/read/<variant>        per-read TSC times (p50/p99/p99.9), plus the
//                              timer's own cost (dist/read/timer)
//   dist/publish/<variant>     per-publish times; hybrid_hazard also split
//                              into publishes that ran a scan and those that
//                              did not; alloc_free is malloc + free of one
//                              node's size (what any publish pays the heap)
//   (variants: floor, hybrid_hazard, hybrid_urcu, and the reference
//   reclaimers hybrid_ebr and hybrid_qsbr from baseline/)
//   stall/<reclaimer>          one reader holds a snapshot for a while, a
//                              writer publishes at full rate: garbage bytes
//                              over time (series)
//   ipi/<writer>               a never-reading thread's compute loop slowed
//                              by a writer publishing, scanning, or spinning
//                              (study_ipi.cpp)
//
// 64-byte state (as vitrine_bench_core) with a live-instance counter.
// VITRINE_STUDY_QUICK=1: a tenth of the samples.
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "alloc_counter.hpp"
#include "study_ipi.hpp"
#include "study_state.hpp"
#include "study_util.hpp"
#include "vitrine/baseline/epoch_reclaimer.hpp"
#include "vitrine/baseline/qsbr_reclaimer.hpp"
#include "vitrine/baseline/urcu_reclaimer.hpp"
#include "vitrine/core/hazard_pointer.hpp"
#include "vitrine/core/publication_cell.hpp"

namespace {

namespace study = vitrine::bench::study;
using study::clock_type;
using study::ticks;
using hazard = vitrine::core::hazard_pointer_reclaimer;
using urcu = vitrine::baseline::urcu_memb_reclaimer;
using ebr = vitrine::baseline::epoch_reclaimer;
using qsbr = vitrine::baseline::qsbr_reclaimer;
using study::cell_of;
using study::counted_state;

const char* name_of(hazard*) {
  return "hybrid_hazard";
}
const char* name_of(urcu*) {
  return "hybrid_urcu";
}
const char* name_of(ebr*) {
  return "hybrid_ebr";
}
const char* name_of(qsbr*) {
  return "hybrid_qsbr";
}

/// Bytes one publish allocates (the node), measured once per reclaimer.
template <class R>
double node_bytes(cell_of<R>& cell) {
  const auto before = vitrine::bench::thread_allocations();
  cell.emplace(std::uint64_t{1});
  return static_cast<double>(vitrine::bench::thread_allocations().bytes -
                             before.bytes);
}

// -- distributions -----------------------------------------------

template <class Body>
std::vector<double> per_op_ns(std::size_t n, Body body) {
  std::vector<double> out;
  out.reserve(n);
  const double scale = study::ns_per_tick();
  for (std::size_t i = 0; i < n; ++i) {
    const auto t0 = ticks();
    body(i);
    const auto t1 = ticks();
    out.push_back(static_cast<double>(t1 - t0) * scale);
  }
  return out;
}

void read_distributions(study::study_output& out) {
  const std::size_t n = study::scaled(1'000'000);
  std::uint64_t sink = 0;
  out.distribution("dist/read/timer", per_op_ns(n, [](std::size_t) {}));
  counted_state<void> floor_state{7};
  std::atomic<const counted_state<void>*> floor{&floor_state};
  auto samples = per_op_ns(n, [&](std::size_t) {
    sink += floor.load(std::memory_order_acquire)->sum();
  });
  out.series("cdf/read/floor", samples, 4000);
  out.distribution("dist/read/floor", std::move(samples));
  const auto cell_rows = [&](auto& cell) {
    using R = typename std::remove_reference_t<decltype(cell)>::reclaimer_type;
    const std::string name = name_of(static_cast<R*>(nullptr));
    auto v = per_op_ns(n, [&](std::size_t) { sink += cell.read()->sum(); });
    out.series("cdf/read/" + name, v, 4000);
    out.distribution("dist/read/" + name, std::move(v));
  };
  cell_of<hazard> h{std::in_place, std::uint64_t{7}};
  cell_rows(h);
  cell_of<urcu> u{std::in_place, std::uint64_t{7}};
  cell_rows(u);
  // The reference reclaimers: EBR (a full fence per guard) and QSBR (no
  // announcement per read; its reader reports a quiescent state per batch
  // below, which the single-read rows leave out: the lower bound).
  cell_of<ebr> e{std::in_place, std::uint64_t{7}};
  cell_rows(e);
  cell_of<qsbr> q{std::in_place, std::uint64_t{7}};
  cell_rows(q);
  // Batches of 64 reads timed together: per-read cost without most of the
  // timer's, and the tail of what a batch meets (preemption, interrupts).
  const auto batched = [&](auto read_one) {
    return per_op_ns(n / 16, [&](std::size_t) {
      for (int k = 0; k < 64; ++k) sink += read_one();
    });
  };
  const auto per_read = [](std::vector<double> v) {
    for (auto& x : v) x /= 64;
    return v;
  };
  out.distribution("dist/read_batch64/floor", per_read(batched([&] {
                     return floor.load(std::memory_order_acquire)->sum();
                   })));
  out.distribution("dist/read_batch64/hybrid_hazard",
                   per_read(batched([&] { return h.read()->sum(); })));
  out.distribution("dist/read_batch64/hybrid_urcu",
                   per_read(batched([&] { return u.read()->sum(); })));
  out.distribution("dist/read_batch64/hybrid_ebr",
                   per_read(batched([&] { return e.read()->sum(); })));
  // QSBR: 64 reads and one quiescent state report per batch.
  out.distribution("dist/read_batch64/hybrid_qsbr",
                   per_read(per_op_ns(n / 16, [&](std::size_t) {
                     for (int k = 0; k < 64; ++k) sink += q.read()->sum();
                     qsbr::quiescent();
                   })));
  // This thread reads no more: online, it would hold back every QSBR
  // reclamation after this (the stalled-reader run below included).
  qsbr::offline();
  if (sink == 42) std::puts("");  // keeps the reads
}

/// Per-publish times of a cell on reclaimer R (every retire_batch-th one
/// runs a collect: its share is the tail).
template <class R>
void publish_plain(study::study_output& out, std::size_t n) {
  cell_of<R> cell{std::in_place, std::uint64_t{0}};
  const double bytes = node_bytes<R>(cell);
  const std::string name = name_of(static_cast<R*>(nullptr));
  auto samples =
      per_op_ns(n, [&](std::size_t i) { cell.emplace(std::uint64_t{i}); });
  out.series("cdf/publish/" + name, samples, 4000);
  out.distribution("dist/publish/" + name, std::move(samples),
                   {{"node_bytes", bytes}});
  R::reclaim_now();
}

void publish_distributions(study::study_output& out) {
  const std::size_t n = study::scaled(200'000);
  cell_of<hazard> h{std::in_place, std::uint64_t{0}};
  const double bytes = node_bytes<hazard>(h);
  std::vector<double> scan, no_scan, all;
  all.reserve(n);
  const double scale = study::ns_per_tick();
  for (std::size_t i = 0; i < n; ++i) {
    const auto scans = hazard::scans();
    const auto t0 = ticks();
    h.emplace(std::uint64_t{i});
    const auto t1 = ticks();
    const double ns = static_cast<double>(t1 - t0) * scale;
    all.push_back(ns);
    (hazard::scans() != scans ? scan : no_scan).push_back(ns);
  }
  const double scan_share = static_cast<double>(scan.size()) / n;
  out.series("cdf/publish/hybrid_hazard", all, 4000);
  out.distribution(
      "dist/publish/hybrid_hazard", std::move(all),
      {{"node_bytes", bytes},
       {"scan_share", scan_share},
       {"scan_threshold", static_cast<double>(hazard::scan_threshold())}});
  out.distribution("dist/publish/hybrid_hazard_scan", std::move(scan));
  out.distribution("dist/publish/hybrid_hazard_no_scan", std::move(no_scan));

  publish_plain<urcu>(out, n);
  publish_plain<ebr>(out, n);
  publish_plain<qsbr>(out, n);

  // The heap's share: allocate a node-sized block, free the previous one.
  void* previous = std::malloc(static_cast<std::size_t>(bytes));
  auto samples = per_op_ns(n, [&](std::size_t) {
    void* fresh = std::malloc(static_cast<std::size_t>(bytes));
    static_cast<volatile char*>(fresh)[0] = 1;
    std::free(previous);
    previous = fresh;
  });
  std::free(previous);
  out.series("cdf/publish/alloc_free", samples, 4000);
  out.distribution("dist/publish/alloc_free", std::move(samples),
                   {{"bytes", bytes}});
}

// -- stalled reader ----------------------------------------------

template <class R>
void stalled_reader(study::study_output& out, double stall_s) {
  using state = counted_state<R>;
  // Nodes retired by the earlier parts of this binary are freed first, and
  // what is still live then (this cell's state included) is the baseline:
  // only what the stall holds back counts as its garbage.
  R::reclaim_now();
  cell_of<R> cell{std::in_place, std::uint64_t{0}};
  R::reclaim_now();
  const auto baseline = state::live.load();
  const double bytes = node_bytes<R>(cell);
  const double cap_bytes = 512.0 * 1024 * 1024;  // the writer pauses past it
  std::atomic<bool> stop{false}, capped{false};
  std::atomic<std::uint64_t> published{0};
  std::atomic<bool> held{false};
  std::thread reader([&] {
    auto snapshot = cell.read();
    held = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(stall_s));
    if (snapshot->sum() == 1) std::puts("");
  });
  while (!held) std::this_thread::yield();
  std::thread writer([&] {
    std::uint64_t v = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      if (static_cast<double>(state::live.load(std::memory_order_relaxed) -
                              baseline) *
              bytes >
          cap_bytes) {
        capped = true;
        // A paused writer collects (EBR/QSBR free only when a writer
        // retires or collects; liburcu's and the hazard pointers' freeing
        // needs no call here).
        if constexpr (std::is_same_v<R, ebr> || std::is_same_v<R, qsbr>)
          R::reclaim_now();
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
        continue;
      }
      cell.emplace(++v);
      published.store(v, std::memory_order_relaxed);
    }
  });
  std::vector<double> t_ms, garbage;
  const auto begin = clock_type::now();
  const double total_s = stall_s + 0.5;
  double peak = 0;
  while (study::seconds_since(begin) < total_s) {
    const double g = static_cast<double>(state::live.load() - baseline) * bytes;
    t_ms.push_back(study::seconds_since(begin) * 1e3);
    garbage.push_back(g);
    if (study::seconds_since(begin) < stall_s) peak = std::max(peak, g);
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  stop = true;
  writer.join();
  reader.join();
  const double after = garbage.back();
  const std::string name =
      std::string{"stall/"} + name_of(static_cast<R*>(nullptr));
  out.series(name + "/t_ms", t_ms);
  out.series(name + "/garbage_bytes", garbage);
  out.row(name, peak,
          {{"peak_garbage_bytes", peak},
           {"garbage_bytes_end", after},
           {"stall_s", stall_s},
           {"live_nodes_before", static_cast<double>(baseline)},
           {"publishes", static_cast<double>(published.load())},
           {"publish_rate_per_s", published.load() / total_s},
           {"node_bytes", bytes},
           {"capped", capped ? 1.0 : 0.0},
           {"cap_bytes", cap_bytes}});
  R::reclaim_now();
}

}  // namespace

int main(int argc, char** argv) {
  study::study_output out;
  read_distributions(out);
  publish_distributions(out);
  const double stall_s = study::quick() ? 0.3 : 2.0;
  stalled_reader<hazard>(out, stall_s);
  stalled_reader<urcu>(out, stall_s);
  stalled_reader<ebr>(out, stall_s);
  stalled_reader<qsbr>(out, stall_s);
  study::ipi_cost(out);
  out.note("ns_per_tick", std::to_string(study::ns_per_tick()));
  out.write(
      study::output_path(argc, argv, "results/vitrine_bench_study_core.json"));
}
