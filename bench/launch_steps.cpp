// launch_steps: what one launch of a supervised program costs, step by
// step, against glibc's posix_spawn in the same binary. The restart trace
// (e2e/restart_latency/hybrid) shows its `launched` step, from the grant
// to the new child exec'd, taking about twice the whole raw restart loop;
// these rows time that step alone, adding one of vitrine's costs at a
// time: os::launch with the fleet's options, then the program's cgroup
// (clone3 with CLONE_INTO_CGROUP), then the guardian (the child marks its
// process group in the guardian's table before it execs). Each sample: spawn
// `/bin/sleep` until it has exec'd (timed), then SIGKILL and reap it (not
// timed), on the benchmark's thread, one child at a time.
#include "launch_steps.hpp"

#include <benchmark/benchmark.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "vitrine/os/cgroup.hpp"
#include "vitrine/os/guardian.hpp"
#include "vitrine/os/launch.hpp"
#include "vitrine/os/reaper.hpp"

extern char** environ;

namespace vitrine::bench {
namespace {

using clock = std::chrono::steady_clock;

constexpr std::size_t samples_per_run = 200;

/// What a step adds to the bare os::launch.
enum class extra { none, cgroup, cgroup_and_guardian };

double micros_since(clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(clock::now() - t0).count();
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

double spawn_once_posix() {
  char arg0[] = "/bin/sleep";
  char arg1[] = "1000000";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t pid = 0;
  const auto t0 = clock::now();
  if (::posix_spawn(&pid, arg0, nullptr, nullptr, argv, environ) != 0)
    throw std::runtime_error("launch_steps: posix_spawn failed");
  const double us = micros_since(t0);
  kill_and_reap(pid);
  return us;
}

/// One program's launches with `what` added; owns the cgroup tree and the
/// guardian the steps need, made once (not timed).
class launcher {
 public:
  explicit launcher(extra what) {
    options_.argv = {"/bin/sleep", "1000000"};
    if (what == extra::none) return;
    cgroups_ = os::cgroup_tree::detect();
    if (!cgroups_) return;  // the row is skipped (see available())
    options_.cgroup = cgroups_->create_program(1);
    if (what == extra::cgroup_and_guardian)
      guardian_ = std::make_unique<os::guardian>(cgroups_->root());
  }

  [[nodiscard]] bool available(extra what) const {
    return what == extra::none || !options_.cgroup.empty();
  }

  double spawn_once() {
    const auto t0 = clock::now();
    auto result = os::launch(options_, guardian_.get());
    const double us = micros_since(t0);
    auto* child = std::get_if<os::launched_child>(&result);
    if (child == nullptr)
      throw std::runtime_error("launch_steps: " +
                               std::get<os::launch_error>(result).what);
    if (guardian_) guardian_->watch_group(child->pid);
    ::kill(child->pid, SIGKILL);
    if (guardian_) guardian_->forget_group(child->pid);
    (void)os::reap_child_blocking(child->pid, child->pidfd.get());
    return us;
  }

 private:
  os::launch_options options_;
  std::unique_ptr<os::cgroup_tree> cgroups_;
  std::unique_ptr<os::guardian> guardian_;
};

void report(benchmark::State& state, std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double q) {
    return samples[static_cast<std::size_t>(q * (samples.size() - 1))];
  };
  state.SetIterationTime(at(0.5) * 1e-6);
  state.counters["p50_us"] = at(0.5);
  state.counters["p99_us"] = at(0.99);
  state.counters["samples"] = static_cast<double>(samples.size());
}

void launch_posix_spawn(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<double> samples;
    for (std::size_t i = 0; i < samples_per_run; ++i)
      samples.push_back(spawn_once_posix());
    report(state, std::move(samples));
  }
}

void launch_vitrine(benchmark::State& state, extra what) {
  launcher steps{what};
  if (!steps.available(what)) {
    state.SkipWithError("no writable cgroup v2 hierarchy with cgroup.kill");
    return;
  }
  for (auto _ : state) {
    std::vector<double> samples;
    for (std::size_t i = 0; i < samples_per_run; ++i)
      samples.push_back(steps.spawn_once());
    report(state, std::move(samples));
  }
}

}  // namespace

void register_launch_steps() {
  const auto time_it = [](benchmark::internal::Benchmark* b) {
    b->Iterations(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
  };
  time_it(benchmark::RegisterBenchmark("e2e/launch/raw_posix_spawn",
                                       launch_posix_spawn));
  time_it(benchmark::RegisterBenchmark("e2e/launch/os_launch", launch_vitrine,
                                       extra::none));
  time_it(benchmark::RegisterBenchmark("e2e/launch/os_launch_cgroup",
                                       launch_vitrine, extra::cgroup));
  time_it(benchmark::RegisterBenchmark("e2e/launch/os_launch_cgroup_guardian",
                                       launch_vitrine,
                                       extra::cgroup_and_guardian));
}

}  // namespace vitrine::bench
