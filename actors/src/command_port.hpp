// command_port: the CAF side of a process_record, i.e. how handles message
// the owning actor, and the tickets its commands carry. Internal.
// Threads: any; the owner is immutable once built, tickets are atomic.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <stop_token>

namespace vitrine::detail {

class command_port {
 public:
  /// `shutting_down`: stopped once the runtime's shutdown began (none for
  /// a remote mirror's processes, whose node decides).
  explicit command_port(caf::actor owner, std::stop_token shutting_down = {})
      : owner_(std::move(owner)), shutting_down_(std::move(shutting_down)) {}
  const caf::actor& owner() const noexcept { return owner_; }
  /// Whether a command that would start something (start, restart) or
  /// signal a program is still taken: not once the runtime's shutdown
  /// began, so that host threads sending them in a loop cannot keep the
  /// owning actor from its stop (each is queued before the exit that ends
  /// the stop). Stops and kills are still taken: they only end things
  /// sooner. One atomic load.
  bool takes_starts() const noexcept {
    return !shutting_down_.stop_requested();
  }
  /// A ticket for the next command: 1, 2, 3...
  std::uint64_t next_ticket() noexcept {
    return tickets_.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  /// The ticket after `last`, taken only if `last` is the last one given
  /// (no handle took one since): for the owner to number, after every
  /// command sent so far, a command that came from elsewhere (a remote
  /// mirror: another controller's). nullopt when a ticket was taken since.
  std::optional<std::uint64_t> next_ticket_after(std::uint64_t last) noexcept {
    std::uint64_t expected = last;
    if (!tickets_.compare_exchange_strong(expected, last + 1,
                                          std::memory_order_relaxed))
      return std::nullopt;
    return last + 1;
  }

 private:
  caf::actor owner_;
  std::stop_token shutting_down_;
  std::atomic<std::uint64_t> tickets_{0};
};

}  // namespace vitrine::detail
