// guard_admission: how many TLS handshakes a node's guard starts for one
// peer address, a second. A handshake costs the node's relay thread about
// 0.7 ms of CPU (an outside tester's flood of ~520 a second took 36% of a
// core), and the certificate check comes at its end: without a limit
// anyone who reaches the port spends the node's CPU. A token bucket per
// address (IPv4: the address; IPv6: its /64, what one host is usually
// given); a connection past it is closed at accept, before any TLS work.
// Internal to the actors/ library.
//
// Threads: the guard's relay thread only. Cost: a hash lookup per accept;
// memory: one entry per address heard from within the last second or so,
// at most `max_addresses` (past that, new addresses are admitted
// unlimited: a flood from that many addresses is not bounded per address
// anyway).
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace vitrine::detail {

/// What an address is limited by, as 128 bits of IPv6: an IPv4 address
/// (also one mapped into IPv6) as its mapped form, an IPv6 one as its
/// /64 with the low half zero.
struct peer_key {
  std::uint64_t high = 0, low = 0;
  static peer_key of(const sockaddr_storage& peer) noexcept;
  bool operator==(const peer_key&) const = default;
  struct hash {
    std::size_t operator()(const peer_key& k) const noexcept {
      return k.high ^ (k.low * 0x9e3779b97f4a7c15ull);
    }
  };
};

class handshake_admission {
 public:
  using clock_type = std::chrono::steady_clock;

  /// At most `per_second` handshakes a second from one address, in bursts
  /// of up to `per_second`; 0: no limit.
  explicit handshake_admission(std::uint32_t per_second,
                               std::size_t max_addresses = 4096)
      : per_second_(per_second), max_addresses_(max_addresses) {}

  /// Whether a handshake from `peer` may start at `now` (counts it if so).
  bool admit(const sockaddr_storage& peer, clock_type::time_point now);

  /// Addresses tracked now; for tests.
  std::size_t tracked() const noexcept { return buckets_.size(); }

 private:
  struct bucket {
    double tokens;
    clock_type::time_point refilled;
  };
  /// The tokens `b` holds at `now`, at most per_second_.
  double tokens_at(const bucket& b, clock_type::time_point now) const;

  std::uint32_t per_second_;
  std::size_t max_addresses_;
  std::unordered_map<peer_key, bucket, peer_key::hash> buckets_;
};

}  // namespace vitrine::detail
