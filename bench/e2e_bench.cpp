// End to end on real processes, hybrid vs messaging, N = 1,000 `sleep`s by
// default (VITRINE_E2E_PROCESSES overrides):
//
//   e2e/start_all/<mode>        supervise N, time until all are seen running;
//                               counters: heap and RSS bytes per process
//   e2e/sweep/<mode>            read the state of all N (one full sweep per
//                               iteration) while a thread crashes a random
//                               process every 2 ms
//   e2e/restart_latency/<mode>  SIGKILL a child; time until a reader sees a
//                               new pid running (zero backoff); p50/p99
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include "fleet.hpp"
#include "vitrine/baseline/messaging.hpp"

namespace {

using namespace std::chrono;
using vitrine::read_policy;
using vitrine::baseline::messaging_reads;
using vitrine::bench::fleet;
using vitrine::bench::fleet_options;
using vitrine::core::process_state;
using vitrine::core::process_status;

std::size_t process_count() {
  const char* n = std::getenv("VITRINE_E2E_PROCESSES");
  return n ? std::stoul(n) : 1000;
}

double heap_in_use() {
  const auto info = ::mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

double resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  double pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

// Reads a state the way each policy's host thread does: a hybrid handle's
// read(), or the baseline's blocking_reader (one round trip a read, with no
// actor made per read).
class mode_reader {
 public:
  explicit mode_reader(fleet& f)
      : published_(f.rt().reads().reads_published()), messaging_(f.rt()) {}
  process_state read(const vitrine::process_handle& h) {
    if (published_) return *h.read();
    return messaging_.read(h);
  }

 private:
  bool published_;
  vitrine::baseline::blocking_reader messaging_;
};

void start_all(benchmark::State& state, const read_policy* mode) {
  for (auto _ : state) {
    ::malloc_trim(0);
    const double heap_before = heap_in_use();
    const double rss_before = resident_bytes();
    fleet f{fleet_options{mode, process_count(), true}};
    const auto n = static_cast<double>(f.processes().size());
    state.SetIterationTime(f.start_seconds());
    state.counters["heap_bytes_per_process"] =
        (heap_in_use() - heap_before) / n;
    state.counters["rss_bytes_per_process"] =
        (resident_bytes() - rss_before) / n;
    state.counters["processes"] = n;
  }
}

// Crashes a random process every 2 ms until stopped.
class crash_injector {
 public:
  explicit crash_injector(fleet& f)
      : thread_([this, &f] {
          std::minstd_rand random{7};
          const auto& all = f.processes();
          while (!done_.load()) {
            all[random() % all.size()].signal(SIGKILL);
            std::this_thread::sleep_for(2ms);
          }
        }) {}
  ~crash_injector() {
    done_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

void sweep(benchmark::State& state, fleet* f) {
  mode_reader reader{*f};
  crash_injector crashes{*f};
  for (auto _ : state) {
    std::size_t running = 0;
    for (const auto& h : f->processes())
      running += reader.read(h).status == process_status::running;
    benchmark::DoNotOptimize(running);
  }
  state.counters["processes"] = static_cast<double>(f->processes().size());
}

void restart_latency(benchmark::State& state, fleet* f) {
  mode_reader reader{*f};
  const auto& all = f->processes();
  std::vector<double> samples;
  for (auto _ : state) {
    samples.clear();
    for (std::size_t k = 0; k < 200; ++k) {
      const auto& h = all[(k * 7) % all.size()];
      const process_state before = reader.read(h);
      if (before.pid == 0 || before.status != process_status::running) continue;
      const auto t0 = steady_clock::now();
      ::kill(before.pid, SIGKILL);
      auto restarted = [&](const process_state& s) {
        return s.status == process_status::running && s.pid != before.pid &&
               s.pid != 0;
      };
      if (f->rt().reads().reads_published()) {
        h.wait_until(restarted, t0 + 10s);
      } else {
        while (!restarted(reader.read(h)) && steady_clock::now() < t0 + 10s) {
        }
      }
      samples.push_back(
          duration<double, std::micro>(steady_clock::now() - t0).count());
    }
    std::sort(samples.begin(), samples.end());
    const auto pick = [&](double q) {
      return samples.empty()
                 ? 0.0
                 : samples[static_cast<std::size_t>(q * (samples.size() - 1))];
    };
    state.SetIterationTime(pick(0.5) / 1e6);
    state.counters["p50_us"] = pick(0.5);
    state.counters["p99_us"] = pick(0.99);
    state.counters["max_us"] = samples.empty() ? 0.0 : samples.back();
    state.counters["samples"] = static_cast<double>(samples.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const read_policy* const modes[] = {&read_policy::hybrid(),
                                      &messaging_reads()};
  for (const read_policy* mode : modes) {
    const std::string m{mode->name()};
    benchmark::RegisterBenchmark(("e2e/start_all/" + m).c_str(), start_all,
                                 mode)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  std::unique_ptr<fleet> fleets[2];
  for (int i = 0; i < 2; ++i) {
    const read_policy* mode = modes[i];
    auto& f = fleets[i];
    f = std::make_unique<fleet>(fleet_options{mode, process_count(), true});
    const std::string m{mode->name()};
    benchmark::RegisterBenchmark(("e2e/sweep/" + m).c_str(), sweep, f.get())
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("e2e/restart_latency/" + m).c_str(),
                                 restart_latency, f.get())
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
