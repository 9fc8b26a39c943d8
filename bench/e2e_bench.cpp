// End to end on real processes, hybrid vs messaging, N = 1,000 `sleep`s by
// default (VITRINE_E2E_PROCESSES overrides):
//
//   e2e/start_all/<mode>        supervise N, time until all are seen running;
//                               counters: heap and RSS bytes per process
//   e2e/sweep/<mode>            read the status of all N (one full sweep
//                               per iteration) while a thread crashes a
//                               random process, waits until it runs
//                               again, pauses 2 ms, and repeats
//   e2e/sweep/hybrid_copy       the same, copying each whole state out (its
//                               name's shared_ptr too): what the copy costs
//   e2e/restart_latency/<mode>  SIGKILL one of the N children (a settle
//                               of 20 ms between kills: raw_spawn.hpp);
//                               time until a subscriber (a scoped_actor
//                               made once, the same in both modes) hears of
//                               a new pid running (zero backoff); p50/p99
//   e2e/restart_latency/hybrid_wait  the same, seen by a futex wait on the
//                               published state (process_handle::wait_until)
//   e2e/heap_breakdown          heap per process of its parts built alone
//                               (heap_breakdown.hpp); the rest of start_all's
//                               heap_bytes_per_process is the process actor's
//                               own members, its I/O watch, the supervisor's
//                               and the registry's entries
//   e2e/start_all/raw_posix_spawn    the floor: posix_spawn N `sleep`s from
//                               2 threads, no supervisor
//   e2e/restart_latency/raw     the floor: the same kills among N raw
//                               children; poll the pidfd, reap,
//                               posix_spawn the replacement
//   e2e/restart_latency/raw_single_child  one child, each kill hitting the
//                               one just spawned, no settle
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>
#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include "fleet.hpp"
#include "heap_breakdown.hpp"
#include "launch_steps.hpp"
#include "raw_spawn.hpp"
#include "vitrine/baseline/messaging.hpp"
#include "vitrine/core/hazard_pointer.hpp"
#include "vitrine/messages.hpp"
#include "vitrine/restart_trace.hpp"

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
  /// Only the status: hybrid reads it in place (copying the whole state
  /// would also copy its name's shared_ptr: two atomic read-modify-writes
  /// a read); messaging receives a state, as it must.
  process_status status(const vitrine::process_handle& h) {
    if (published_) return h.read()->status;
    return messaging_.read(h).status;
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
    // The runtime's: not the benchmark's own list of handles (what a host
    // keeps is its business; a handle itself allocates nothing).
    const double handle_list = static_cast<double>(
        f.processes().capacity() * sizeof(vitrine::process_handle));
    state.counters["heap_bytes_per_process"] =
        (heap_in_use() - heap_before - handle_list) / n;
    state.counters["handle_list_bytes_per_process"] = handle_list / n;
    // Snapshots replaced but not yet freed, at most a scan threshold per
    // writing thread however many processes there are: part of the heap
    // above (hybrid publishes; messaging's actors publish nothing).
    state.counters["retired_snapshots_per_process"] =
        static_cast<double>(
            vitrine::core::hazard_pointer_reclaimer::pending()) /
        n;
    state.counters["rss_bytes_per_process"] =
        (resident_bytes() - rss_before) / n;
    state.counters["processes"] = n;
  }
}

// Crashes a random process, waits until it runs again (seen by
// subscription, the same in both modes; at most 1 s), pauses 2 ms, and
// repeats until stopped: one crash in flight at a time, so the crash rate
// follows how fast the machine restarts (a fixed rate above it would pile
// up exits faster than they are restarted and starve the sweep).
class crash_injector {
 public:
  explicit crash_injector(fleet& f) : thread_([this, &f] { run(f); }) {}
  ~crash_injector() {
    done_ = true;
    thread_.join();
  }
  /// Crashes per second so far.
  double rate() const {
    const duration<double> elapsed = steady_clock::now() - started_;
    return static_cast<double>(crashes_.load()) / elapsed.count();
  }

 private:
  void run(fleet& f) {
    caf::scoped_actor self{f.rt().system()};
    std::minstd_rand random{7};
    const auto& all = f.processes();
    while (!done_.load()) {
      const auto& victim = all[random() % all.size()];
      victim.subscribe(self);  // reaches the actor before the signal
      victim.signal(SIGKILL);
      const auto deadline = steady_clock::now() + 1s;
      bool left_running = false, back = false;
      while (!back && steady_clock::now() < deadline)
        self->receive(
            [&](vitrine::state_changed_atom, const process_state& s) {
              const bool running = s.status == process_status::running;
              back = left_running && running;
              left_running = left_running || !running;
            },
            caf::after(deadline - steady_clock::now()) >> [] {});
      victim.unsubscribe(self);
      ++crashes_;
      std::this_thread::sleep_for(2ms);
    }
  }

  const steady_clock::time_point started_ = steady_clock::now();
  std::atomic<std::uint64_t> crashes_{0};
  std::atomic<bool> done_{false};
  std::thread thread_;  // last: starts once the members above exist
};

void sweep(benchmark::State& state, fleet* f) {
  mode_reader reader{*f};
  crash_injector crashes{*f};
  for (auto _ : state) {
    std::size_t running = 0;
    for (const auto& h : f->processes())
      running += reader.status(h) == process_status::running;
    benchmark::DoNotOptimize(running);
  }
  state.counters["processes"] = static_cast<double>(f->processes().size());
  state.counters["crashes_per_second"] = crashes.rate();
}

void sweep_copy(benchmark::State& state, fleet* f) {
  crash_injector crashes{*f};
  for (auto _ : state) {
    std::size_t running = 0;
    for (const auto& h : f->processes()) {
      const process_state copy = *h.read();
      running += copy.status == process_status::running;
    }
    benchmark::DoNotOptimize(running);
  }
  state.counters["processes"] = static_cast<double>(f->processes().size());
  state.counters["crashes_per_second"] = crashes.rate();
}

/// p50, p99 and max of `samples` (sorted here) as counters; the p50 is the
/// iteration's time.
void report_latencies(benchmark::State& state, std::vector<double>& samples) {
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

constexpr std::size_t restarts_per_run = 200;

/// With VITRINE_RESTART_TRACE set: when each hop of the restart path was
/// reached, in microseconds after the kill, per restart (median reported
/// as a counter at_<point>_us).
class hop_times {
 public:
  void add(steady_clock::time_point kill) {
    if (!vitrine::restart_trace::enabled()) return;
    const auto t0 = duration_cast<nanoseconds>(kill.time_since_epoch()).count();
    for (std::size_t p = 0; p < points; ++p)
      at_[p].push_back(
          static_cast<double>(vitrine::restart_trace::last(point(p)) - t0) /
          1e3);
  }
  void report(benchmark::State& state) {
    if (!vitrine::restart_trace::enabled()) return;
    for (std::size_t p = 0; p < points; ++p) {
      auto& v = at_[p];
      if (v.empty()) continue;
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      state.counters[std::string{"at_"} +
                     vitrine::restart_trace::name(point(p)) + "_us"] =
          v[v.size() / 2];
    }
  }

 private:
  using point = vitrine::restart_trace::point;
  static constexpr auto points = static_cast<std::size_t>(point::count);
  std::vector<double> at_[points];
};

bool restarted(const process_state& s, pid_t before) {
  return s.status == process_status::running && s.pid != before && s.pid != 0;
}

/// Kills `restarts_per_run` children one at a time; `wait(h, old_pid,
/// deadline)` returns once the restart was observed.
template <class Wait>
std::vector<double> kill_and_time(fleet& f, Wait wait, hop_times& hops) {
  mode_reader reader{f};
  const auto& all = f.processes();
  std::vector<double> samples;
  for (std::size_t k = 0; k < restarts_per_run; ++k) {
    const auto& h = all[vitrine::bench::restart_victim(k, all.size())];
    const process_state before = reader.read(h);
    if (before.pid == 0 || before.status != process_status::running) continue;
    const auto t0 = steady_clock::now();
    ::kill(before.pid, SIGKILL);
    if (!wait(h, before.pid, t0 + 10s)) continue;
    samples.push_back(
        duration<double, std::micro>(steady_clock::now() - t0).count());
    hops.add(t0);
    std::this_thread::sleep_for(vitrine::bench::restart_settle);
  }
  return samples;
}

/// Observed by subscription in both modes: one scoped_actor, subscribed to
/// the process before its kill, receives its state changes.
void restart_latency(benchmark::State& state, fleet* f) {
  caf::scoped_actor self{f->rt().system()};
  auto by_subscription = [&](const vitrine::process_handle& h, pid_t old,
                             steady_clock::time_point deadline) {
    bool seen = false;
    // Subscribing is a message: it reaches the actor before the exit
    // report the kill causes, which comes later through the I/O thread.
    h.subscribe(self);
    while (!seen && steady_clock::now() < deadline)
      self->receive([&](vitrine::state_changed_atom,
                        const process_state& s) { seen = restarted(s, old); },
                    caf::after(deadline - steady_clock::now()) >> [] {});
    h.unsubscribe(self);
    return seen;
  };
  for (auto _ : state) {
    hop_times hops;
    auto samples = kill_and_time(*f, by_subscription, hops);
    report_latencies(state, samples);
    hops.report(state);
  }
}

/// Hybrid only: observed by a futex wait on the published state.
void restart_latency_wait(benchmark::State& state, fleet* f) {
  auto by_wait = [](const vitrine::process_handle& h, pid_t old,
                    steady_clock::time_point deadline) {
    return h.wait_until(
        [old](const process_state& s) { return restarted(s, old); }, deadline);
  };
  for (auto _ : state) {
    hop_times hops;
    auto samples = kill_and_time(*f, by_wait, hops);
    report_latencies(state, samples);
    hops.report(state);
  }
}

void heap_breakdown(benchmark::State& state) {
  for (auto _ : state)
    for (const auto& [part, bytes] :
         vitrine::bench::heap_parts(process_count()))
      state.counters[part] = bytes;
}

void raw_start_all(benchmark::State& state) {
  for (auto _ : state) {
    state.SetIterationTime(vitrine::bench::raw_start_all(process_count(), 2));
    state.counters["processes"] = static_cast<double>(process_count());
  }
}

/// Like for like with restart_latency: as many long-running children as
/// the fleet, the same victims, the same settle between restarts.
void raw_restart_latency(benchmark::State& state) {
  for (auto _ : state) {
    auto samples = vitrine::bench::raw_restart_latencies(
        restarts_per_run, process_count(), vitrine::bench::restart_settle);
    report_latencies(state, samples);
  }
}

/// The loop's floor: one child, each kill hitting the child just spawned
/// (what `restart_latency/raw` measured before it matched the fleet).
void raw_restart_latency_single_child(benchmark::State& state) {
  for (auto _ : state) {
    auto samples = vitrine::bench::raw_restart_latencies(
        restarts_per_run, 1, std::chrono::milliseconds{0});
    report_latencies(state, samples);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("e2e/heap_breakdown", heap_breakdown)
      ->Iterations(1);
  benchmark::RegisterBenchmark("e2e/start_all/raw_posix_spawn", raw_start_all)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
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
    if (mode->reads_published())
      benchmark::RegisterBenchmark("e2e/sweep/hybrid_copy", sweep_copy, f.get())
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    if (mode->reads_published())
      benchmark::RegisterBenchmark("e2e/restart_latency/hybrid_wait",
                                   restart_latency_wait, f.get())
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("e2e/restart_latency/raw", raw_restart_latency)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("e2e/restart_latency/raw_single_child",
                               raw_restart_latency_single_child)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  vitrine::bench::register_launch_steps();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
