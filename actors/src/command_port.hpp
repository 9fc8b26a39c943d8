// command_port: the CAF side of a process_record, i.e. how handles message
// the owning actor, and the tickets its commands carry. Internal.
// Threads: any; the owner is immutable once built, tickets are atomic.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <cstdint>

namespace vitrine::detail {

class command_port {
 public:
  explicit command_port(caf::actor owner) : owner_(std::move(owner)) {}
  const caf::actor& owner() const noexcept { return owner_; }
  /// A ticket for the next command: 1, 2, 3...
  std::uint64_t next_ticket() noexcept {
    return tickets_.fetch_add(1, std::memory_order_relaxed) + 1;
  }

 private:
  caf::actor owner_;
  std::atomic<std::uint64_t> tickets_{0};
};

}  // namespace vitrine::detail
