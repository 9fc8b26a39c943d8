// fleet: a vitrine runtime supervising N real `sleep` processes, shared by
// the end-to-end and messaging benchmarks. Benchmark support only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vitrine/runtime.hpp"

namespace vitrine::bench {

struct fleet_options {
  /// The runtime's read policy: read_policy::hybrid() or
  /// baseline::messaging_reads().
  const read_policy* reads = &read_policy::hybrid();
  std::size_t processes = 1;
  bool tuned = true;  ///< CAF latency tuning (moderate-poll-attempts = 0)
};

class fleet {
 public:
  /// Starts the runtime and supervises `processes` children
  /// (`sleep 1000000`, startsecs 0, zero backoff), waiting until all run.
  explicit fleet(const fleet_options& options);
  ~fleet();

  runtime& rt() noexcept { return *runtime_; }
  const std::vector<process_handle>& processes() const noexcept {
    return handles_;
  }
  /// Seconds from the first supervise() to the last process seen running.
  double start_seconds() const noexcept { return start_seconds_; }

  static std::string name_of(std::size_t i) {
    return "proc-" + std::to_string(i);
  }

 private:
  std::unique_ptr<runtime> runtime_;
  std::vector<process_handle> handles_;
  double start_seconds_ = 0;
};

}  // namespace vitrine::bench
