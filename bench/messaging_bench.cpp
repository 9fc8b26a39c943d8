// Hybrid vs messaging on a real supervised process: the cost of reading one
// process's state, and of finding a process by name, for host threads and
// for readers that are themselves actors.
//
//   read/floor                   the raw-pointer floor of read/hybrid: an
//                                acquire load of a plain atomic pointer to a
//                                process_state, no reclamation, no handle
//   read/floor_slot_traffic      read/floor plus the memory accesses an
//                                unnested hazard guard of an unchanged
//                                snapshot makes to its thread's own slot (a
//                                load, then two plain stores), without the
//                                guard's tests: what those accesses cost
//   read/hybrid                  process_handle::read() (guarded pointer load)
//   read/messaging_blocking      blocking_reader::read(): scoped_actor request
//                                to the process actor, tuned CAF scheduler
//   read/messaging_blocking_default   the same with CAF's default scheduler
//   read/*_from_actor            an event-based actor reading in a loop
//                                (messaging: request().then chain)
//   lookup/*                     by name: registry (hybrid) vs directory actor;
//                                both return a process_handle holding one
//                                reference count on the record (hybrid:
//                                find_shared's increment; messaging: the
//                                reply's), dropped when the handle goes
//
// A read in read/floor, read/hybrid and read/*_from_actor is the same work:
// get at the state, then read the fields a status line shows
// (read_fields), so read/hybrid over read/floor is the handle's whole cost.
#include <benchmark/benchmark.h>
#include <caf/all.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "fleet.hpp"
#include "vitrine/baseline/messaging.hpp"

namespace {

using vitrine::read_policy;
using vitrine::baseline::messaging_reads;
using vitrine::bench::fleet;
using vitrine::bench::fleet_options;

std::unique_ptr<fleet> hybrid, messaging, messaging_default;

// Reads per request to the reading actor: enough to hide that request.
constexpr int messaging_batch = 200;
constexpr int hybrid_batch = 100'000;

/// What every read does with the state it got: the fields of a status line.
[[gnu::always_inline]] inline std::int64_t read_fields(
    const vitrine::core::process_state& s) noexcept {
  return static_cast<std::int64_t>(s.version) +
         static_cast<std::int64_t>(s.status) + s.pid + s.restart_count +
         s.started_at.time_since_epoch().count() +
         s.ended_at.time_since_epoch().count();
}

/// The floor: a copy of proc-0's state behind a plain atomic pointer, never
/// changed and never freed (nothing to reclaim, so nothing to protect).
std::atomic<const vitrine::core::process_state*> floor_current{nullptr};

void read_floor(benchmark::State& state) {
  for (auto _ : state) {
    const auto* s = floor_current.load(std::memory_order_acquire);
    benchmark::DoNotOptimize(read_fields(*s));
  }
}

/// The word read/floor_slot_traffic loads and stores, as a guard does its
/// own slot: thread-local, written only by its thread.
constinit thread_local std::atomic<std::uintptr_t> traffic_slot{0};

void read_floor_slot_traffic(benchmark::State& state) {
  for (auto _ : state) {
    const std::uintptr_t kept = traffic_slot.load(std::memory_order_relaxed);
    traffic_slot.store(kept | 1, std::memory_order_relaxed);
    const auto* s = floor_current.load(std::memory_order_acquire);
    benchmark::DoNotOptimize(read_fields(*s));
    // As the guard's release: store the pointer that came from the load.
    auto from_source = reinterpret_cast<std::uintptr_t>(s);
    asm("" : "+r"(from_source));
    traffic_slot.store(from_source, std::memory_order_relaxed);
  }
}

void read_hybrid(benchmark::State& state) {
  auto h = hybrid->processes().front();
  for (auto _ : state) {
    auto s = h.read();
    benchmark::DoNotOptimize(read_fields(*s));
  }
}

void read_messaging_blocking(benchmark::State& state, fleet* f) {
  vitrine::baseline::blocking_reader reader{f->rt()};
  auto h = f->processes().front();
  for (auto _ : state) {
    auto s = reader.read(h);
    benchmark::DoNotOptimize(read_fields(s));
  }
}

// An actor reading `count` states in sequence, then replying `count`.
using run_atom = caf::atom_constant<caf::atom("run")>;

caf::behavior messaging_reader(caf::event_based_actor* self,
                               caf::actor target) {
  return {[=](run_atom, int count) {
    auto promise = self->make_response_promise<int>();
    auto step = std::make_shared<std::function<void(int)>>();
    *step = [=](int left) mutable {
      if (left == 0) {
        promise.deliver(count);
        return;
      }
      self->request(target, caf::infinite, caf::get_atom::value)
          .then([=](const vitrine::core::process_state& s) {
            benchmark::DoNotOptimize(read_fields(s));
            (*step)(left - 1);
          });
    };
    (*step)(count);
    return promise;
  }};
}

caf::behavior hybrid_reader(caf::event_based_actor*,
                            vitrine::process_handle h) {
  return {[=](run_atom, int count) {
    for (int i = 0; i < count; ++i) {
      auto s = h.read();
      benchmark::DoNotOptimize(read_fields(*s));
    }
    return count;
  }};
}

void run_actor_batches(benchmark::State& state, fleet& f, caf::actor reader,
                       int batch) {
  caf::scoped_actor self{f.rt().system()};
  for (auto _ : state) {
    self->request(reader, caf::infinite, run_atom::value, batch)
        .receive([](int) {}, [](caf::error&) {});
  }
  state.counters["ns_per_read"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * batch,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
}

void read_messaging_from_actor(benchmark::State& state) {
  auto& f = *messaging;
  auto reader = f.rt().system().spawn(
      messaging_reader, vitrine::baseline::owner_actor(f.processes().front()));
  run_actor_batches(state, f, reader, messaging_batch);
}

void read_hybrid_from_actor(benchmark::State& state) {
  auto& f = *hybrid;
  auto reader = f.rt().system().spawn(hybrid_reader, f.processes().front());
  run_actor_batches(state, f, reader, hybrid_batch);
}

void lookup_hybrid(benchmark::State& state) {
  auto& rt = hybrid->rt();
  for (auto _ : state) {
    auto h = rt.find("proc-0");
    benchmark::DoNotOptimize(h);
  }
}

void lookup_messaging(benchmark::State& state) {
  vitrine::baseline::blocking_reader reader{messaging->rt()};
  for (auto _ : state) {
    auto h = reader.find("proc-0");
    benchmark::DoNotOptimize(h);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  hybrid =
      std::make_unique<fleet>(fleet_options{&read_policy::hybrid(), 10, true});
  messaging =
      std::make_unique<fleet>(fleet_options{&messaging_reads(), 10, true});
  messaging_default =
      std::make_unique<fleet>(fleet_options{&messaging_reads(), 10, false});

  floor_current.store(
      new vitrine::core::process_state(*hybrid->processes().front().read()),
      std::memory_order_release);

  // Reader scaling: 1 and 2 threads here, up to 16 on a lent 16-core box.
  const int max_readers = std::thread::hardware_concurrency() >= 12 ? 16 : 2;
  benchmark::RegisterBenchmark("read/floor", read_floor)
      ->ThreadRange(1, max_readers);
  benchmark::RegisterBenchmark("read/floor_slot_traffic",
                               read_floor_slot_traffic)
      ->ThreadRange(1, max_readers);
  benchmark::RegisterBenchmark("read/hybrid", read_hybrid)
      ->ThreadRange(1, max_readers);
  benchmark::RegisterBenchmark("read/messaging_blocking",
                               read_messaging_blocking, messaging.get())
      ->ThreadRange(1, max_readers)
      ->UseRealTime();
  benchmark::RegisterBenchmark("read/messaging_blocking_default",
                               read_messaging_blocking, messaging_default.get())
      ->UseRealTime();
  benchmark::RegisterBenchmark("read/hybrid_from_actor", read_hybrid_from_actor)
      ->UseRealTime();
  benchmark::RegisterBenchmark("read/messaging_from_actor",
                               read_messaging_from_actor)
      ->UseRealTime();
  benchmark::RegisterBenchmark("lookup/hybrid", lookup_hybrid)
      ->ThreadRange(1, 2);
  benchmark::RegisterBenchmark("lookup/messaging", lookup_messaging)
      ->UseRealTime();

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  messaging_default.reset();
  messaging.reset();
  hybrid.reset();
}
