#include "fleet.hpp"

#include "vitrine/baseline/messaging.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

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
  // trip that blocks on its reply). A spawn that fails for good (EMFILE
  // past RLIMIT_NOFILE, EAGAIN past a process limit) ends the wait at once
  // and names its errno.
  const bool published = runtime_->reads().reads_published();
  baseline::blocking_reader reader{*runtime_};
  const auto settled = [](const core::process_state& s) {
    return s.status == core::process_status::running ||
           s.status == core::process_status::failed;
  };
  // The state the wait ended on (running or failed); nullopt at the deadline.
  auto settle =
      [&](const process_handle& h) -> std::optional<core::process_state> {
    if (published) {
      if (!h.wait_until(settled, deadline)) return std::nullopt;
      return core::process_state{*h.read()};
    }
    for (;;) {
      auto s = reader.read(h);
      if (settled(s)) return s;
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    }
  };
  for (std::size_t i = 0; i < options.processes; ++i) {
    auto h = published ? runtime_->find(name_of(i)) : reader.find(name_of(i));
    if (!h) throw std::runtime_error("fleet: " + name_of(i) + " not found");
    const auto s = settle(h);
    if (!s)
      throw std::runtime_error("fleet: " + name_of(i) +
                               " did not start within 120 s");
    if (s->status != core::process_status::running)
      throw std::runtime_error("fleet: " + name_of(i) + " did not start (" +
                               std::string{to_string(s->status)} +
                               ", spawn errno " +
                               std::to_string(s->spawn_errno) + " " +
                               std::string{s->spawn_error()} + ")");
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
