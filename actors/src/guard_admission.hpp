// guard_admission: how many TLS handshakes a node's guard starts a second,
// for one peer address and for all of them together. A handshake costs
// the node's relay thread about 0.7 ms of CPU (an outside tester's flood
// of ~520 a second took 36% of a core), and the certificate check comes at
// its end: without a limit anyone who reaches the port spends the node's
// CPU. A token bucket per address (IPv4: the address; IPv6: its /64, what
// one host is usually given) bounds one address; a bucket for the node
// bounds a flood from many addresses, at the price that such a flood also
// delays new controllers (connections made before it are not touched). A
// connection past either is closed at accept, before any TLS work.
// Internal to the actors/ library.
//
// Threads: the guard's relay thread only. Cost: a hash lookup per accept;
// memory: one entry per address heard from within the last second or so,
// at most `max_addresses` (past that, new addresses are bounded by the
// node's bucket alone).
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

  enum class verdict : std::uint8_t {
    admitted,
    over_address,  ///< the peer's address spent its handshakes
    over_node,     ///< all addresses together spent the node's
  };

  /// At most `per_address` handshakes a second from one address and
  /// `per_node` from all, each in bursts of as many; 0: no such limit.
  handshake_admission(std::uint32_t per_address, std::uint32_t per_node,
                      std::size_t max_addresses = 4096)
      : per_address_(per_address),
        per_node_(per_node),
        max_addresses_(max_addresses),
        node_{double(per_node), clock_type::now()} {}

  /// Whether a handshake from `peer` may start at `now` (counted if so,
  /// against both limits; a refused one counts against neither).
  verdict admit(const sockaddr_storage& peer, clock_type::time_point now);

  /// Addresses tracked now; for tests.
  std::size_t tracked() const noexcept { return buckets_.size(); }

 private:
  struct bucket {
    double tokens;
    clock_type::time_point refilled;
    /// The tokens at `now`, at most `rate` (one second's worth).
    double tokens_at(clock_type::time_point now, std::uint32_t rate) const;
  };
  /// The address's bucket, refilled to `now`; null when the address is
  /// not limited (no per-address limit, or max_addresses tracked).
  bucket* address_bucket(const sockaddr_storage& peer,
                         clock_type::time_point now);

  std::uint32_t per_address_;
  std::uint32_t per_node_;
  std::size_t max_addresses_;
  bucket node_;
  std::unordered_map<peer_key, bucket, peer_key::hash> buckets_;
};

}  // namespace vitrine::detail
