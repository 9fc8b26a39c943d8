// running_order: the order a run lists its programs in: its file's, as the
// last applied reload left it (the order file `vitrine status` reads has the
// same). Set by whichever thread applies a reload, read by the display's
// thread, which lists the live table and the --json-status file in it.
//
// Threads: set() and positions() from any thread; version() is one atomic
// load. Costs: set() builds a map of every program's name (a reload's
// cost); positions() copies a shared_ptr under a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "vitrine/process_spec.hpp"

namespace vitrine::cli {

class running_order {
 public:
  using position_map = std::unordered_map<std::string, std::uint32_t>;

  /// Each program of `tree` at its place in a depth-first walk of it.
  void set(const supervisor_spec& tree);
  /// The positions the last set() gave (null before the first).
  std::shared_ptr<const position_map> positions() const;
  /// Changes with every set().
  std::uint64_t version() const noexcept {
    return version_.load(std::memory_order_acquire);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const position_map> positions_;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace vitrine::cli
