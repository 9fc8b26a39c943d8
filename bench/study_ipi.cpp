// The core study's IPI experiment (study_ipi.hpp): a compute thread on one
// CPU times fixed chunks of work while a writer on the other idles,
// publishes, publishes with a scan (one membarrier) each, or spins; the
// function-call interrupts come from /proc/interrupts.
#include "study_ipi.hpp"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "study_state.hpp"
#include "vitrine/core/hazard_pointer.hpp"

namespace {

namespace study = vitrine::bench::study;
using study::clock_type;
using hazard = vitrine::core::hazard_pointer_reclaimer;

/// Function-call interrupts (the IPIs membarrier sends) summed over CPUs.
double call_interrupts() {
  std::ifstream in("/proc/interrupts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string label;
    words >> label;
    if (label != "CAL:") continue;
    double total = 0, n = 0;
    while (words >> n) total += n;
    return total;
  }
  return -1;
}

enum class writer_mode { idle, publish, scan_each, spin };

/// Pins the calling thread to `cpu` when the machine has it; true if so.
bool pin_to(unsigned cpu) {
  if (std::thread::hardware_concurrency() <= cpu) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

}  // namespace

void vitrine::bench::study::ipi_cost(study_output& out) {
  cell_of<hazard> cell{std::in_place, std::uint64_t{0}};
  std::atomic<int> mode{static_cast<int>(writer_mode::idle)};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> work{0};
  std::atomic<int> writer_cpu{-1};
  // Writer on CPU 0, compute thread on CPU 1: an IPI reaches the compute
  // thread whenever both run at the same time.
  std::atomic<bool> pinned{true};
  std::thread writer([&] {
    if (!pin_to(0)) pinned = false;
    std::uint64_t v = 0, x = 1;
    while (!stop.load(std::memory_order_relaxed)) {
      writer_cpu.store(sched_getcpu(), std::memory_order_relaxed);
      switch (static_cast<writer_mode>(mode.load(std::memory_order_relaxed))) {
        case writer_mode::idle:
          std::this_thread::sleep_for(std::chrono::milliseconds{1});
          break;
        case writer_mode::publish:
          cell.emplace(++v);
          break;
        case writer_mode::scan_each:
          cell.emplace(++v);
          hazard::reclaim_now();  // one heavy fence (membarrier) per publish
          break;
        case writer_mode::spin:
          for (int i = 0; i < 1000; ++i) x = x * 6364136223846793005u + 1;
          work.store(x, std::memory_order_relaxed);
          break;
      }
    }
  });
  // The compute thread: fixed chunks of dependent multiplies, each timed.
  std::atomic<bool> measuring{false};
  std::vector<double> chunk_ns;
  std::vector<int> chunk_mode;
  std::vector<bool> chunk_apart;  // compute and writer on different CPUs
  std::atomic<bool> compute_stop{false};
  std::thread compute([&] {
    if (!pin_to(1)) pinned = false;
    double x = 1.0;
    while (!compute_stop.load(std::memory_order_relaxed)) {
      const auto t0 = clock_type::now();
      for (int i = 0; i < 20'000; ++i) x = x * 1.0000001 + 1e-9;
      const double ns = study::ns_between(t0, clock_type::now());
      if (measuring.load(std::memory_order_relaxed)) {
        chunk_ns.push_back(ns);
        chunk_mode.push_back(mode.load(std::memory_order_relaxed));
        chunk_apart.push_back(sched_getcpu() !=
                              writer_cpu.load(std::memory_order_relaxed));
      }
    }
    if (x == 0) std::puts("");
  });
  const int rounds = study::quick() ? 1 : 5;
  const auto phase = std::chrono::milliseconds{study::quick() ? 150 : 300};
  std::vector<double> calls(4, 0), seconds(4, 0), scans(4, 0), cpu(4, 0);
  clockid_t compute_clock;
  pthread_getcpuclockid(compute.native_handle(), &compute_clock);
  const auto cpu_ns = [&] {
    timespec ts{};
    clock_gettime(compute_clock, &ts);
    return ts.tv_sec * 1e9 + static_cast<double>(ts.tv_nsec);
  };
  measuring = true;
  for (int r = 0; r < rounds; ++r)
    for (int m = 0; m < 4; ++m) {
      mode = m;
      const double c0 = call_interrupts();
      const auto s0 = hazard::scans();
      const double cpu0 = cpu_ns();
      const auto t0 = clock_type::now();
      std::this_thread::sleep_for(phase);
      seconds[m] += study::seconds_since(t0);
      cpu[m] += cpu_ns() - cpu0;
      calls[m] += call_interrupts() - c0;
      scans[m] += static_cast<double>(hazard::scans() - s0);
    }
  measuring = false;
  compute_stop = true;
  compute.join();
  stop = true;
  writer.join();
  const char* names[] = {"idle", "publish", "scan_each", "spin"};
  std::vector<std::vector<double>> by_mode(4);
  std::vector<double> apart(4, 0);
  for (std::size_t i = 0; i < chunk_ns.size(); ++i) {
    by_mode[chunk_mode[i]].push_back(chunk_ns[i]);
    apart[chunk_mode[i]] += chunk_apart[i] ? 1 : 0;
  }
  const double base = study::quantile(by_mode[0], 0.5);
  for (int m = 0; m < 4; ++m) {
    auto& v = by_mode[m];
    const double chunks = static_cast<double>(v.size());
    const double p50 = study::quantile(v, 0.5);
    out.row(std::string{"ipi/"} + names[m], p50,
            {{"chunks", chunks},
             {"pinned", pinned ? 1.0 : 0.0},
             {"compute_cpu_share", cpu[m] / (seconds[m] * 1e9)},
             {"apart_share", chunks > 0 ? apart[m] / chunks : 0},
             {"p90", study::quantile(v, 0.9)},
             {"slowdown_pct", (p50 / base - 1) * 100},
             {"call_ipis_per_s", calls[m] / seconds[m]},
             {"scans_per_s", scans[m] / seconds[m]}});
  }
}
