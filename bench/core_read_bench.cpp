// vitrine_bench_core: what it costs to read, publish and look up process
// state, for every reclamation scheme of ours and for the usual alternatives,
// side by side in one binary.
//
// The state is 64 bytes (8 x uint64). A "read" is the same in every variant:
// get at the current state and sum its 8 words into a register that
// benchmark::DoNotOptimize consumes. Variants:
//
//   floor              std::atomic<const state*> acquire load + read; no
//                      reclamation at all (the writer recycles a ring of
//                      1024 states): the lower bound for any scheme.
//   hybrid_hazard      publication_cell<state> (hazard pointers, the default)
//   one_slot           hybrid_hazard's read protocol with one slot per
//                      thread and no nesting, over the floor's ring (no
//                      reclamation): what nesting costs per read
//   hybrid_urcu        publication_cell<state, urcu_memb_reclaimer>
//   seqlock            odd/even sequence counter, copy-out, retry
//   mutex              std::mutex around the state
//   shared_mutex       std::shared_mutex, shared lock for readers
//   atomic_shared_ptr  std::atomic<std::shared_ptr<const state>> load
//
// Benchmarks (names are <what>/<variant>/<param:value>.../threads:N):
//
//   read/<v>/threads:{1,2,4,8}   readers only, all reading the same state.
//       4 and 8 oversubscribe this 2-core machine (labelled so).
//   read_paced_writer/<v>        1 reader while a writer thread publishes a
//       new state every 10 us (spin-until-deadline pacing).
//   publish/<v>                  one writer publishing back to back,
//       including its amortized share of reclamation. CPU time is the whole
//       process's, so liburcu's call_rcu thread (which frees our nodes) is
//       counted.
//   lookup/..., iterate/...      the registry against maps with locks
//       (core_registry_bench.cpp).
//
// Counters: allocs_per_op / bytes_per_op / frees_per_op (calling thread,
// from the replaced operator new in alloc_counter.cpp). Run it through
// scripts/compare.sh, which keeps the JSON in results/ and renders
// docs/results.md.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"
#include "core_registry_bench.hpp"
#include "vitrine/baseline/urcu_reclaimer.hpp"
#include "vitrine/core/hazard_pointer.hpp"
#include "vitrine/core/publication_cell.hpp"

namespace {

using vitrine::bench::report_allocations;
using vitrine::bench::thread_allocations;
using clock_type = std::chrono::steady_clock;

// -- the state and the read ---------------------------------------------------

struct state {
  std::uint64_t words[8];
};
static_assert(sizeof(state) == 64);

state make_state(std::uint64_t v) noexcept {
  state s;
  for (std::uint64_t i = 0; i < 8; ++i) s.words[i] = v + i;
  return s;
}

/// The read every variant performs on the state it got hold of.
[[gnu::always_inline]] inline std::uint64_t read_words(
    const state& s) noexcept {
  std::uint64_t sum = 0;
  for (std::uint64_t w : s.words) sum += w;
  return sum;
}

// -- variants -----------------------------------------------------------------
// Each has read() (any thread) and publish(v) (one writer thread at a time).

class floor_variant {
 public:
  static constexpr const char* name = "floor";
  std::uint64_t read() const noexcept {
    return read_words(*current_.load(std::memory_order_acquire));
  }
  // Recycles ring slots without any reclamation: a reader that held a
  // pointer for 1024 publishes (10 ms when paced) would see it rewritten.
  // Unsafe by design; it is the floor, not a candidate.
  void publish(std::uint64_t v) noexcept {
    state& slot = ring_[++next_ % ring_.size()];
    slot = make_state(v);
    current_.store(&slot, std::memory_order_release);
  }

 private:
  std::array<state, 1024> ring_{};
  std::size_t next_ = 0;
  alignas(64) std::atomic<const state*> current_{&ring_[0]};
};

/// The reader's half of a hazard pointer with one slot per thread and no
/// nesting (announce, compiler-only barrier, re-load; a scanner's
/// membarrier would order the rest): what hybrid_hazard's read would cost if
/// a thread could hold only one guard at a time. The writer recycles a
/// ring like the floor's and reclaims nothing (no scanner reads the slots):
/// not a candidate, a measure of what nesting costs per read.
class one_slot_variant {
 public:
  static constexpr const char* name = "one_slot";
  std::uint64_t read() const noexcept {
    const state* seen = current_.load(std::memory_order_acquire);
    for (;;) {
      announced.store(seen, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      const state* now = current_.load(std::memory_order_acquire);
      if (now == seen) [[likely]]
        return read_words(*seen);
      seen = now;
    }
  }
  void publish(std::uint64_t v) noexcept {
    state& slot = ring_[++next_ % ring_.size()];
    slot = make_state(v);
    current_.store(&slot, std::memory_order_release);
  }

 private:
  static constinit thread_local std::atomic<const state*> announced;
  std::array<state, 1024> ring_{};
  std::size_t next_ = 0;
  alignas(64) std::atomic<const state*> current_{&ring_[0]};
};
constinit thread_local std::atomic<const state*> one_slot_variant::announced{
    nullptr};

template <class Reclaimer>
class hybrid_variant {
 public:
  static constexpr const char* name =
      std::is_same_v<Reclaimer, vitrine::core::hazard_pointer_reclaimer>
          ? "hybrid_hazard"
          : "hybrid_urcu";
  std::uint64_t read() const noexcept {
    auto snapshot = cell_.read();
    return read_words(*snapshot);
  }
  void publish(std::uint64_t v) { cell_.publish(make_state(v)); }

 private:
  vitrine::core::publication_cell<state, Reclaimer> cell_{make_state(0)};
};
using hazard_variant = hybrid_variant<vitrine::core::hazard_pointer_reclaimer>;
using urcu_variant = hybrid_variant<vitrine::baseline::urcu_memb_reclaimer>;

class seqlock_variant {
 public:
  static constexpr const char* name = "seqlock";
  std::uint64_t read() const noexcept {
    for (;;) {
      const std::uint64_t before = sequence_.load(std::memory_order_acquire);
      if (before & 1) [[unlikely]] {
        _mm_pause();
        continue;
      }
      std::uint64_t sum = 0;
      for (const auto& w : words_) sum += w.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (sequence_.load(std::memory_order_relaxed) == before) return sum;
    }
  }
  void publish(std::uint64_t v) noexcept {
    const std::uint64_t s = sequence_.load(std::memory_order_relaxed);
    sequence_.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    const state next = make_state(v);
    for (std::size_t i = 0; i < 8; ++i)
      words_[i].store(next.words[i], std::memory_order_relaxed);
    sequence_.store(s + 2, std::memory_order_release);
  }

 private:
  alignas(64) std::atomic<std::uint64_t> sequence_{0};
  alignas(64) std::atomic<std::uint64_t> words_[8] = {};
};

class mutex_variant {
 public:
  static constexpr const char* name = "mutex";
  std::uint64_t read() const {
    std::lock_guard lock{mutex_};
    return read_words(state_);
  }
  void publish(std::uint64_t v) {
    const state next = make_state(v);
    std::lock_guard lock{mutex_};
    state_ = next;
  }

 private:
  mutable std::mutex mutex_;
  state state_ = make_state(0);
};

class shared_mutex_variant {
 public:
  static constexpr const char* name = "shared_mutex";
  std::uint64_t read() const {
    std::shared_lock lock{mutex_};
    return read_words(state_);
  }
  void publish(std::uint64_t v) {
    const state next = make_state(v);
    std::unique_lock lock{mutex_};
    state_ = next;
  }

 private:
  mutable std::shared_mutex mutex_;
  state state_ = make_state(0);
};

class atomic_shared_ptr_variant {
 public:
  static constexpr const char* name = "atomic_shared_ptr";
  std::uint64_t read() const noexcept {
    const std::shared_ptr<const state> s =
        current_.load(std::memory_order_acquire);
    return read_words(*s);
  }
  void publish(std::uint64_t v) {
    current_.store(std::make_shared<const state>(make_state(v)),
                   std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const state>> current_{
      std::make_shared<const state>(make_state(0))};
};

/// One long-lived instance per variant, shared by all reader threads. Never
/// destroyed: reclaimer threads may outlive static destruction.
template <class V>
V& shared_instance() {
  static V* instance = new V;
  return *instance;
}

/// Frees what the calling thread retired, so one benchmark's garbage does
/// not land in the next one's timing.
template <class V>
void drain() {
  if constexpr (std::is_same_v<V, hazard_variant>)
    vitrine::core::hazard_pointer_reclaimer::reclaim_now();
  else if constexpr (std::is_same_v<V, urcu_variant>)
    vitrine::baseline::urcu_memb_reclaimer::reclaim_now();
}

void label_oversubscription(benchmark::State& st) {
  const unsigned cores = std::thread::hardware_concurrency();
  if (static_cast<unsigned>(st.threads()) > cores)
    st.SetLabel("oversubscribed: " + std::to_string(st.threads()) +
                " readers on " + std::to_string(cores) + " cores");
}

// -- read ---------------------------------------------------------------------

/// Readers only; all threads read the same state.
template <class V>
void BM_read(benchmark::State& st) {
  const V& v = shared_instance<V>();
  const auto before = thread_allocations();
  for (auto _ : st) benchmark::DoNotOptimize(v.read());
  report_allocations(st, before);
  label_oversubscription(st);
}

/// Publishes into `target` every `period` from its own thread until
/// destroyed. Pacing spins on the clock (a sleep would overshoot 10 us by
/// the timer slack and the wake-up latency); if it falls behind it skips
/// ahead instead of bursting.
template <class V>
class paced_writer {
 public:
  paced_writer(V& target, clock_type::duration period)
      : thread_([this, &target, period] { run(target, period); }) {
    while (published_.load(std::memory_order_acquire) == 0)
      std::this_thread::yield();
  }
  paced_writer(const paced_writer&) = delete;
  paced_writer& operator=(const paced_writer&) = delete;
  ~paced_writer() { stop(); }

  /// Stops the writer; returns how many states it published.
  std::uint64_t stop() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
    return published_.load(std::memory_order_relaxed);
  }

 private:
  void run(V& target, clock_type::duration period) {
    std::uint64_t n = 0;
    auto deadline = clock_type::now();
    while (!stop_.load(std::memory_order_relaxed)) {
      target.publish(++n);
      published_.store(n, std::memory_order_release);
      deadline += period;
      auto now = clock_type::now();
      if (now > deadline + period) deadline = now;  // preempted: no burst
      while (now < deadline && !stop_.load(std::memory_order_relaxed)) {
        _mm_pause();
        now = clock_type::now();
      }
    }
    drain<V>();
  }

  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> published_{0};
  std::thread thread_;
};

constexpr auto writer_period = std::chrono::microseconds{10};

/// One reader while a writer thread publishes every 10 us (started by
/// thread 0 before the timed loop, stopped after it).
template <class V>
void BM_read_paced_writer(benchmark::State& st) {
  V& v = shared_instance<V>();
  std::optional<paced_writer<V>> writer;
  if (st.thread_index() == 0) writer.emplace(v, writer_period);
  const auto before = thread_allocations();
  const auto start = clock_type::now();
  for (auto _ : st) benchmark::DoNotOptimize(v.read());
  const auto elapsed = clock_type::now() - start;
  report_allocations(st, before);
  if (writer) {
    const auto published = writer->stop();
    const double seconds = std::chrono::duration<double>(elapsed).count();
    // Sanity check of the pacing: should be close to 100k/s.
    st.counters["writer_publishes_per_s"] =
        benchmark::Counter(static_cast<double>(published) / seconds);
  }
}

// -- publish --------------------------------------------------------------

/// One writer, back to back, including amortized reclamation on this thread
/// (hazard: a scan with one membarrier every scan_threshold() publishes).
/// liburcu frees on its call_rcu thread, so the process CPU time is reported
/// too (MeasureProcessCPUTime) and frees_per_op shows where frees happen.
template <class V>
void BM_publish(benchmark::State& st) {
  auto v = std::make_unique<V>();
  std::uint64_t n = 0;
  const auto before = thread_allocations();
  for (auto _ : st) v->publish(++n);
  report_allocations(st, before);
  v.reset();
  drain<V>();
}

// -- registration -------------------------------------------------------------

/// `with_publish`: also publish/<v> (not for one_slot, whose writer is the
/// floor's).
template <class V>
void register_variant(bool with_publish = true) {
  const std::string v = V::name;
  auto* read = benchmark::RegisterBenchmark(("read/" + v).c_str(), &BM_read<V>);
  read->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime();
  // On machines with many cores (a lent 16-core box), the scaling curve too.
  if (std::thread::hardware_concurrency() >= 12) read->Threads(16);
  benchmark::RegisterBenchmark(("read_paced_writer/" + v).c_str(),
                               &BM_read_paced_writer<V>)
      ->Threads(1)
      ->UseRealTime();
  if (!with_publish) return;
  benchmark::RegisterBenchmark(("publish/" + v).c_str(), &BM_publish<V>)
      ->MeasureProcessCPUTime()
      ->UseRealTime();
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0)
      return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  register_variant<floor_variant>();
  register_variant<hazard_variant>();
  register_variant<one_slot_variant>(false);
  register_variant<urcu_variant>();
  register_variant<seqlock_variant>();
  register_variant<mutex_variant>();
  register_variant<shared_mutex_variant>();
  register_variant<atomic_shared_ptr_variant>();
  vitrine::bench::register_registry_benchmarks();

  std::string command;
  for (int i = 0; i < argc; ++i) {
    if (i != 0) command += ' ';
    command += argv[i];
  }
  benchmark::AddCustomContext("vitrine_command", command);
  benchmark::AddCustomContext("vitrine_cpu_model", cpu_model());
  benchmark::AddCustomContext(
      "vitrine_hardware_threads",
      std::to_string(std::thread::hardware_concurrency()));
  benchmark::AddCustomContext("vitrine_compiler", __VERSION__);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
