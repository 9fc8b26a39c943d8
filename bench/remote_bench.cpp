// remote_bench: reading a remote node's states on loopback (issue 13,
// docs/distribution.md). Run by scripts/compare.sh into
// results/vitrine_bench_remote.json (scripts/report_remote.py renders it);
// the fleet and frozen-node rows are in remote_fleet_bench.cpp.
//
// Before anything else the binary forks a node: a runtime with remoting on
// that supervises 8 idle programs (`sleep`) and one that exits every 5 ms
// and is restarted at once ("churn"), served on 127.0.0.1. The parent is
// the controller: one runtime, one node_handle. Rows:
//   remote/read/mirror     node.find("p0").read(): the local mirror cell
//   remote/read/messaging  node.ask("p0"): one request to the node server,
//                          one round trip over the middleman (and a
//                          scoped_actor per call)
//   remote/propagation     the delay from a transition of "churn" on the
//                          node to the controller's mirror showing it
//                          (p50/p99 in microseconds). The node stamps each
//                          transition from a local subscriber (a few
//                          microseconds after its publish) into shared
//                          memory; the controller stamps it when a reader
//                          blocked on the mirrored cell wakes up with it.
//                          Both use CLOCK_MONOTONIC (one machine). Also
//                          split: start_* (`running`, published as the
//                          node's new child has just exec'd) and exit_*
//                          (the transitions that follow an exit).
//   remote/propagation/bare_child
//                          the same with "churn" stopped and "churn_bare"
//                          started in its place: bare_sleep.cpp, a child
//                          that has no start-up work (no ld.so, no libc)
//                          to compete with the path for the two cores;
//                          the only difference from the row above.
//                          Skipped where bare_sleep is not built.
//   remote/propagation/run_queue_wait
//                          the first row again (1,000 samples), reading
//                          after each sample how long the node's and the
//                          controller's threads were runnable but waiting
//                          for a CPU since the previous one (schedstat,
//                          run_queue_wait.hpp): the waits of the start
//                          samples over 1 ms against those under (same
//                          window: backoff end, spawn, propagation). A
//                          separate row, so the reads (~20 preads a
//                          sample) stay out of the first one.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <vector>

#include "remote_nodes.hpp"
#include "run_queue_wait.hpp"
#include "vitrine/messages.hpp"
#include "vitrine/runtime.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// One transition of "churn" as the node saw it.
struct stamp {
  std::atomic<std::uint64_t> seq{0};  // 0: empty; written last (release)
  std::int32_t pid = 0;
  std::uint32_t restarts = 0;
  std::uint8_t status = 0;
  std::int64_t ns = 0;
};
constexpr std::size_t ring_size = 1 << 16;
struct shared_ring {
  std::atomic<std::uint64_t> next{0};
  stamp entries[ring_size];
};

shared_ring* ring = nullptr;
pid_t node_pid = 0;
int node_stop_fd = -1;  // closing it stops the node
std::optional<vitrine::runtime> controller;
vitrine::node_handle node;

std::int64_t now_ns() {
  return clock_type::now().time_since_epoch().count();
}

vitrine::runtime_options remote_options() {
  vitrine::runtime_options o;
  o.remoting.enabled = true;
  return o;
}

[[noreturn]] void run_node(int port_pipe, int stop_pipe) {
  auto options = remote_options();
  options.root_intensity = 1'000'000'000;  // "churn" restarts forever
  vitrine::runtime rt{options};
  for (int i = 0; i < 8; ++i) {
    vitrine::process_spec spec;
    spec.name = std::to_string(i);
    spec.name.insert(0, 1, 'p');  // not "p" + ...: GCC 12 -O3 -Wrestrict false
                                  // positive (GCC bug 105329)
    spec.launch.argv = {"sleep", "100000"};
    spec.startsecs = 0ms;
    rt.supervise(spec);
  }
  vitrine::process_spec churn;
  churn.name = "churn";
  churn.launch.argv = {"sleep", "0.005"};
  churn.startsecs = 0ms;
  churn.backoff.min = 1ms;
  churn.backoff.max = 1ms;
  churn.backoff.multiplier = 1.0;
  churn.backoff.jitter = 0.0;
  churn.restart_limit.interval = 0ms;
  auto h = rt.supervise(churn);
#ifdef VITRINE_BARE_SLEEP
  churn.name = "churn_bare";
  churn.launch.argv = {VITRINE_BARE_SLEEP};
  churn.autostart = false;  // BM_remote_propagation swaps it with "churn"
  auto bare = rt.supervise(churn);
#endif
  auto stamper =
      rt.system().spawn([](caf::event_based_actor*) -> caf::behavior {
        return {[](vitrine::state_changed_atom,
                   const vitrine::core::process_state& s) {
          const auto t = now_ns();
          auto& e = ring->entries[ring->next.fetch_add(1) % ring_size];
          e.seq.store(0, std::memory_order_relaxed);
          e.pid = s.pid;
          e.restarts = s.restart_count;
          e.status = static_cast<std::uint8_t>(s.status);
          e.ns = t;
          e.seq.store(s.version, std::memory_order_release);
        }};
      });
  h.subscribe(stamper);
#ifdef VITRINE_BARE_SLEEP
  bare.subscribe(stamper);
#endif
  const std::uint16_t port = rt.serve({});
  (void)!::write(port_pipe, &port, sizeof port);
  char byte;
  (void)!::read(stop_pipe, &byte, 1);  // EOF when the controller exits
  caf::anon_send_exit(stamper, caf::exit_reason::kill);
  rt.shutdown();
  std::_Exit(0);
}

void start_node_and_controller() {
  void* mem = ::mmap(nullptr, sizeof(shared_ring), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) std::abort();
  ring = new (mem) shared_ring;
  int port_pipe[2], stop_pipe[2];
  if (::pipe(port_pipe) != 0 || ::pipe(stop_pipe) != 0) std::abort();
  node_pid = ::fork();
  if (node_pid == 0) {
    ::close(port_pipe[0]);
    ::close(stop_pipe[1]);
    run_node(port_pipe[1], stop_pipe[0]);
  }
  ::close(port_pipe[1]);
  ::close(stop_pipe[0]);
  node_stop_fd = stop_pipe[1];
  std::uint16_t port = 0;
  if (::read(port_pipe[0], &port, sizeof port) != sizeof port) std::abort();
  controller.emplace(remote_options());
  node = controller->connect({"127.0.0.1", port});
  if (!node.wait_connected(clock_type::now() + 10s)) std::abort();
}

}  // namespace

void vitrine::bench::stop_churn_node() {
  if (node_pid <= 0) return;
  node = {};
  controller.reset();     // closes the mirror
  ::close(node_stop_fd);  // the node shuts down (and would if we died)
  int status = 0;
  ::waitpid(node_pid, &status, 0);
  node_pid = 0;
}

namespace {

void BM_remote_read_mirror(benchmark::State& state) {
  if (!node) return state.SkipWithError("the churn node was stopped");
  auto h = node.find("p0");
  for (auto _ : state) benchmark::DoNotOptimize(h.read()->pid);
}
BENCHMARK(BM_remote_read_mirror)->Name("remote/read/mirror");

void BM_remote_read_messaging(benchmark::State& state) {
  if (!node) return state.SkipWithError("the churn node was stopped");
  for (auto _ : state) {
    auto s = node.ask("p0", 1s);
    if (!s) state.SkipWithError("the node did not answer");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_remote_read_messaging)->Name("remote/read/messaging");

/// The node's stamp of the transition `s` shows, or nullopt.
std::optional<std::int64_t> node_stamp(const vitrine::core::process_state& s) {
  const std::uint64_t end = ring->next.load();
  for (std::uint64_t i = end; i > 0 && end - i < 64; --i) {
    const auto& e = ring->entries[(i - 1) % ring_size];
    if (e.seq.load(std::memory_order_acquire) == 0) continue;
    if (e.pid == s.pid && e.restarts == s.restart_count &&
        e.status == static_cast<std::uint8_t>(s.status))
      return e.ns;
  }
  return std::nullopt;
}

/// Stops `from` and starts `to` (both on the churn node); false if either
/// did not get there in time.
bool swap_churn(const char* from, const char* to) {
  const auto deadline = clock_type::now() + 10s;
  auto stopping = node.find(from);
  auto starting = node.find(to);
  return stopping && starting &&
         stopping.stop().wait_for_status(vitrine::core::process_status::stopped,
                                         deadline) &&
         starting.start().wait_for_status(
             vitrine::core::process_status::running, deadline);
}

/// The start samples of the run_queue_wait row: each one's run-queue wait
/// (all threads of the node and the controller, since the previous sample:
/// the backoff's end, the spawn and the propagation), split at 1 ms of
/// delay.
struct wait_samples {
  explicit wait_samples(std::initializer_list<pid_t> processes)
      : threads{processes}, total_before{threads.total_ns()} {}

  vitrine::bench::run_queue_wait threads;
  std::uint64_t total_before;
  std::vector<double> over_delays_us, over_waits_us;
  std::vector<double> under_delays_us, under_waits_us;

  void add(double delay_us, double waited_us) {
    const bool over = delay_us > 1000.0;
    (over ? over_delays_us : under_delays_us).push_back(delay_us);
    (over ? over_waits_us : under_waits_us).push_back(waited_us);
  }

  /// The wait since the previous call, in microseconds.
  double take() {
    const std::uint64_t total = threads.total_ns();
    const double us = static_cast<double>(total - total_before) / 1000.0;
    total_before = total;
    return us;
  }
};

double percentile(std::vector<double>& v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[static_cast<std::size_t>(q * (v.size() - 1))];
}

/// Propagation of the transitions of `program`, restarted every 5 ms;
/// `waits` (the run_queue_wait row) also reads each sample's wait for a CPU.
void BM_remote_propagation(benchmark::State& state, const char* program,
                           bool waits = false) {
  if (!node) return state.SkipWithError("the churn node was stopped");
  auto h = node.find(program);
  if (!h) return state.SkipWithError("bare_sleep is not built here");
  std::optional<wait_samples> w;
  if (waits) {
    w.emplace(std::initializer_list<pid_t>{node_pid, ::getpid()});
    if (!w->threads.available())
      return state.SkipWithError("no /proc/PID/task/TID/schedstat here");
  }
  const std::size_t samples = waits ? 1000 : 2000;
  std::vector<double> delays_us;
  // Split by kind: `running` is published as the node's new child has
  // just exec'd; the others (`backoff`, `exited`) follow an exit.
  std::vector<double> starts_us, others_us;
  for (auto _ : state) {
    const auto deadline = clock_type::now() + 20s;
    std::uint64_t seen = h.read()->version;
    if (w) w->take();
    while (delays_us.size() < samples && clock_type::now() < deadline) {
      if (!h.wait_for_version_after(seen, clock_type::now() + 1s)) continue;
      const auto t = now_ns();
      auto s = h.read();
      seen = s->version;
      const double waited_us = w ? w->take() : 0.0;
      if (auto at = node_stamp(*s)) {
        const double us = static_cast<double>(t - *at) / 1000.0;
        delays_us.push_back(us);
        const bool start = s->status == vitrine::core::process_status::running;
        (start ? starts_us : others_us).push_back(us);
        if (w && start) w->add(us, waited_us);
      }
    }
  }
  if (delays_us.empty()) {
    std::fprintf(stderr, "node stamps %llu, mirror version %llu, status %s\n",
                 static_cast<unsigned long long>(ring->next.load()),
                 static_cast<unsigned long long>(h.read()->version),
                 std::string{to_string(h.read()->status)}.c_str());
    return state.SkipWithError("no transition matched");
  }
  const auto pct = percentile;
  state.counters["p50_us"] = pct(delays_us, 0.50);
  state.counters["p99_us"] = pct(delays_us, 0.99);
  state.counters["samples"] = static_cast<double>(delays_us.size());
  state.counters["start_p50_us"] = pct(starts_us, 0.50);
  state.counters["start_p99_us"] = pct(starts_us, 0.99);
  state.counters["start_samples"] = static_cast<double>(starts_us.size());
  state.counters["exit_p50_us"] = pct(others_us, 0.50);
  state.counters["exit_p99_us"] = pct(others_us, 0.99);
  state.counters["exit_samples"] = static_cast<double>(others_us.size());
  if (!w) return;
  state.counters["start_over_1ms_samples"] =
      static_cast<double>(w->over_delays_us.size());
  state.counters["start_over_1ms_delay_p50_us"] = pct(w->over_delays_us, 0.5);
  state.counters["start_over_1ms_wait_p50_us"] = pct(w->over_waits_us, 0.5);
  state.counters["start_under_1ms_delay_p50_us"] = pct(w->under_delays_us, 0.5);
  state.counters["start_under_1ms_wait_p50_us"] = pct(w->under_waits_us, 0.5);
}
BENCHMARK_CAPTURE(BM_remote_propagation, sleep, "churn")
    ->Name("remote/propagation")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_remote_propagation_bare(benchmark::State& state) {
  if (node && node.find("churn_bare") && !swap_churn("churn", "churn_bare"))
    return state.SkipWithError("could not swap churn for churn_bare");
  BM_remote_propagation(state, "churn_bare");
  if (node && node.find("churn_bare") && !swap_churn("churn_bare", "churn"))
    state.SkipWithError("could not swap churn_bare back for churn");
}
BENCHMARK(BM_remote_propagation_bare)
    ->Name("remote/propagation/bare_child")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(BM_remote_propagation, waits, "churn", true)
    ->Name("remote/propagation/run_queue_wait")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (vitrine::bench::is_remote_node(argc, argv))
    return vitrine::bench::run_remote_node(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  start_node_and_controller();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  vitrine::bench::stop_churn_node();
  vitrine::bench::stop_spawned_nodes();
  return 0;
}
