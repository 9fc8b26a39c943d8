// remote_fleet_bench: the controller side of many remote processes, and a
// frozen node (issue 13 item 5, docs/distribution.md). Part of the
// vitrine_bench_remote binary (main() is in remote_bench.cpp).
//
// Nodes are this binary spawned again ("--remote-node N HEARTBEAT_MS
// TIMEOUT_MS", own process group): a runtime with remoting on that raises
// its RLIMIT_NOFILE soft limit to the hard one, supervises N idle `sleep`
// programs, serves on 127.0.0.1 once all are running, writes the port on
// its stdout and shuts down when its stdin closes (SIGKILL if the benchmark
// dies: PR_SET_PDEATHSIG; remote_spawned_nodes.cpp). Rows:
//   remote/fleet/nodes:4/processes:P   a fresh controller runtime connects
//        to 4 nodes of P processes (1,000, fewer if the hard RLIMIT_NOFILE
//        cannot hold 2 descriptors a program, or VITRINE_REMOTE_FLEET_
//        PROCESSES); time (manual) from the first connect()
//        until every mirrored process reads running. Counters: the
//        controller's RSS and heap (mallinfo2, every arena) growth per
//        mirrored process (from before the connects to the full mirror),
//        its CPU time (user + sys, getrusage, every thread of this
//        process) over that span and as % of one core over the 5 s idle
//        window that follows.
//   remote/frozen_to_unknown/heartbeat_ms:100/timeout_ms:500  one node of
//        8 processes, both sides at those settings; each cycle SIGSTOPs the
//        node and times until the mirror's node status is lost and a
//        process reads unknown (documented bound: heartbeat + timeout), then
//        SIGCONTs it and times until the mirror is synchronised again and
//        the process reads running (reconnection backoff 50-200 ms).
//        Counters: p50 and max over the cycles (the row's time is the p50).
// VITRINE_REMOTE_QUICK=1 (scripts/compare.sh --quick): 1 fleet repetition
// instead of 3, 3 frozen cycles instead of 7.
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "remote_nodes.hpp"
#include "vitrine/runtime.hpp"

namespace {

using namespace std::chrono_literals;
using namespace vitrine::bench;
using clock_type = std::chrono::steady_clock;
using vitrine::core::process_status;

constexpr auto frozen_heartbeat = 100ms;
constexpr auto frozen_timeout = 500ms;

bool quick() {
  const char* q = std::getenv("VITRINE_REMOTE_QUICK");
  return q != nullptr && std::string_view{q} == "1";
}

/// The hard RLIMIT_NOFILE, the most descriptors a node can raise itself to.
double hard_file_limit() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 ||
      files.rlim_max == RLIM_INFINITY)
    return 1e9;
  return static_cast<double>(files.rlim_max);
}

/// Programs per fleet node: VITRINE_REMOTE_FLEET_PROCESSES, else 1,000 or
/// as many as the hard descriptor limit allows (a node holds 2 per
/// program; 100 kept for CAF and the runtime).
unsigned fleet_processes() {
  if (const char* n = std::getenv("VITRINE_REMOTE_FLEET_PROCESSES"))
    return static_cast<unsigned>(std::strtoul(n, nullptr, 10));
  return static_cast<unsigned>(
      std::clamp((hard_file_limit() - 100) / 2, 1.0, 1000.0));
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

double rss_bytes() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(::getpagesize());
}

/// Bytes in use on the heap, every arena (glibc's mallinfo2).
double heap_bytes() {
  const auto m = ::mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}

/// True when every process of every node is mirrored and reads running.
bool fully_mirrored(const std::vector<vitrine::node_handle>& nodes,
                    unsigned per_node) {
  for (const auto& n : nodes) {
    const auto list = n.processes();
    if (list.size() != per_node) return false;
    for (const auto& h : list)
      if (h.read()->status != process_status::running) return false;
  }
  return true;
}

constexpr unsigned fleet_nodes = 4;

void BM_remote_fleet(benchmark::State& state) {
  vitrine::bench::stop_churn_node();
  const unsigned per_node = fleet_processes();
  static std::vector<spawned_node> nodes;
  while (nodes.size() < fleet_nodes) {
    auto n = spawn_node(per_node, 500ms, 2000ms);
    if (!n)
      return state.SkipWithError("a node could not start all its processes");
    nodes.push_back(*n);
  }
  double rss_per_process = 0, heap_per_process = 0, cpu_mirror = 0,
         cpu_idle_pct = 0, idle_s = 0;
  for (auto _ : state) {
    std::optional<vitrine::runtime> rt;
    rt.emplace(remote_options(500ms, 2000ms));
    const double rss0 = rss_bytes();
    const double heap0 = heap_bytes();
    const double cpu0 = cpu_seconds();
    const auto t0 = clock_type::now();
    std::vector<vitrine::node_handle> handles;
    for (const auto& n : nodes)
      handles.push_back(rt->connect({"127.0.0.1", n.port}));
    const auto deadline = t0 + 120s;
    // Block (no CPU of ours) until each node's first snapshot is applied,
    // then check every state, polling only if that is not yet enough.
    for (const auto& h : handles) h.wait_connected(deadline);
    while (!fully_mirrored(handles, per_node) && clock_type::now() < deadline)
      std::this_thread::sleep_for(1ms);
    const double mirror_s = seconds_since(t0);
    if (!fully_mirrored(handles, per_node))
      return state.SkipWithError("the mirror did not fill within 120 s");
    state.SetIterationTime(mirror_s);
    cpu_mirror = cpu_seconds() - cpu0;
    rss_per_process = (rss_bytes() - rss0) / (fleet_nodes * per_node);
    heap_per_process = (heap_bytes() - heap0) / (fleet_nodes * per_node);
    const double cpu1 = cpu_seconds();
    const auto idle0 = clock_type::now();
    std::this_thread::sleep_for(5s);
    idle_s = seconds_since(idle0);
    cpu_idle_pct = 100 * (cpu_seconds() - cpu1) / idle_s;
    handles.clear();
    rt.reset();
  }
  state.counters["processes"] = fleet_nodes * per_node;
  state.counters["rss_bytes_per_process"] = rss_per_process;
  state.counters["heap_bytes_per_process"] = heap_per_process;
  state.counters["cpu_mirror_ms"] = 1e3 * cpu_mirror;
  state.counters["cpu_idle_pct"] = cpu_idle_pct;
  state.counters["idle_window_s"] = idle_s;
  state.counters["nofile_hard"] = hard_file_limit();
}

/// Index `q` of sorted `v` (nearest rank below).
double pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

void BM_remote_frozen(benchmark::State& state) {
  vitrine::bench::stop_churn_node();
  auto node = spawn_node(8, frozen_heartbeat, frozen_timeout);
  if (!node) return state.SkipWithError("the node did not start");
  vitrine::runtime rt{remote_options(frozen_heartbeat, frozen_timeout)};
  vitrine::connect_options c;
  c.backoff_min = 50ms;
  c.backoff_max = 200ms;
  auto mirror = rt.connect({"127.0.0.1", node->port}, c);
  std::vector<double> unknown_ms, resync_ms;
  const int cycles = quick() ? 3 : 7;
  for (auto _ : state) {
    for (int i = 0; i < cycles; ++i) {
      const auto limit = clock_type::now() + 30s;
      if (!mirror.wait_connected(limit))
        return state.SkipWithError("the node is not mirrored");
      auto p0 = mirror.find("p0");
      if (!p0 || !p0.wait_for_status(process_status::running, limit))
        return state.SkipWithError("p0 does not read running");
      const auto syncs = mirror.synchronisations();
      ::kill(node->pid, SIGSTOP);
      const auto t0 = clock_type::now();
      if (!mirror.wait_for_status(vitrine::node_status::lost, t0 + 30s) ||
          !p0.wait_for_status(process_status::unknown, t0 + 30s)) {
        ::kill(node->pid, SIGCONT);
        return state.SkipWithError("the frozen node never read unknown");
      }
      unknown_ms.push_back(1e3 * seconds_since(t0));
      ::kill(node->pid, SIGCONT);
      const auto t1 = clock_type::now();
      while (mirror.synchronisations() == syncs && clock_type::now() < t1 + 30s)
        mirror.wait_connected(clock_type::now() + 10ms);
      if (!p0.wait_for_status(process_status::running, t1 + 30s))
        return state.SkipWithError("the node did not resynchronise");
      resync_ms.push_back(1e3 * seconds_since(t1));
    }
    state.SetIterationTime(pct(unknown_ms, 0.5) / 1e3);
  }
  mirror.close();
  rt.shutdown();
  stop_node(*node);
  state.counters["unknown_p50_ms"] = pct(unknown_ms, 0.5);
  state.counters["unknown_max_ms"] = pct(unknown_ms, 1.0);
  state.counters["bound_ms"] =
      static_cast<double>((frozen_heartbeat + frozen_timeout).count());
  state.counters["resync_p50_ms"] = pct(resync_ms, 0.5);
  state.counters["resync_max_ms"] = pct(resync_ms, 1.0);
  state.counters["cycles"] = static_cast<double>(unknown_ms.size());
}

const bool registered = [] {
  benchmark::RegisterBenchmark(
      ("remote/fleet/nodes:4/processes:" + std::to_string(fleet_processes()))
          .c_str(),
      BM_remote_fleet)
      ->Iterations(1)
      ->Repetitions(quick() ? 1 : 3)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(
      "remote/frozen_to_unknown/heartbeat_ms:100/timeout_ms:500",
      BM_remote_frozen)
      ->Iterations(1)
      ->Repetitions(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
