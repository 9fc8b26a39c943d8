#include "fleet.hpp"

#include "vitrine/baseline/messaging.hpp"

#include <chrono>
#include <stdexcept>

namespace vitrine::bench {

fleet::fleet(const fleet_options& options) {
  runtime_options rt_options;
  rt_options.reads = options.reads;
  rt_options.tune_scheduler_for_latency = options.tuned;
  runtime_ = std::make_unique<runtime>(rt_options);

  supervisor_spec group;
  group.name = "fleet";
  group.intensity = 1'000'000;
  group.period = std::chrono::milliseconds{1000};
  group.parallel_start = true;
  for (std::size_t i = 0; i < options.processes; ++i) {
    process_spec spec;
    spec.name = name_of(i);
    spec.launch.argv = {"/bin/sleep", "1000000"};
    spec.startsecs = std::chrono::milliseconds{0};
    spec.backoff.min = std::chrono::milliseconds{0};
    spec.backoff.jitter = 0;
    spec.stop_timeout = std::chrono::milliseconds{2000};
    // The benchmarks kill processes on purpose, many times each: the
    // per-process restart limit would turn them `failed`.
    spec.restart_limit.interval = std::chrono::milliseconds{0};
    group.children.emplace_back(std::move(spec));
  }
  const auto begin = std::chrono::steady_clock::now();
  runtime_->supervise(std::move(group));
  const auto deadline = begin + std::chrono::seconds{120};
  handles_.reserve(options.processes);
  // Each mode finds and waits its own way, paying once for what it needs:
  // hybrid looks up the registry and waits on the published state (a
  // futex); messaging asks the directory and the owning actor through one
  // scoped_actor made once, polling without sleeping (each poll is a round
  // trip that blocks on its reply).
  const bool published = runtime_->reads().reads_published();
  baseline::blocking_reader reader{*runtime_};
  auto running = [&](const process_handle& h) {
    if (published)
      return h.wait_for_status(core::process_status::running, deadline);
    while (reader.read(h).status != core::process_status::running)
      if (std::chrono::steady_clock::now() >= deadline) return false;
    return true;
  };
  for (std::size_t i = 0; i < options.processes; ++i) {
    auto h = published ? runtime_->find(name_of(i)) : reader.find(name_of(i));
    if (!h || !running(h))
      throw std::runtime_error("fleet: " + name_of(i) + " did not start");
    handles_.push_back(std::move(h));
  }
  start_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
          .count();
}

fleet::~fleet() {
  handles_.clear();
  runtime_.reset();
}

}  // namespace vitrine::bench
