#include "guard_admission.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace vitrine::detail {

peer_key peer_key::of(const sockaddr_storage& peer) noexcept {
  in6_addr in6{};
  if (peer.ss_family == AF_INET) {  // as its IPv4-mapped IPv6 address
    in6.s6_addr[10] = in6.s6_addr[11] = 0xff;
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(peer).sin_addr;
    std::memcpy(in6.s6_addr + 12, &in4.s_addr, 4);
  } else if (peer.ss_family == AF_INET6) {
    in6 = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
  } else {
    return {};
  }
  peer_key key;
  std::memcpy(&key.high, in6.s6_addr, sizeof key.high);
  // A mapped IPv4 address is one host: all of it counts.
  if (IN6_IS_ADDR_V4MAPPED(&in6))
    std::memcpy(&key.low, in6.s6_addr + 8, sizeof key.low);
  return key;
}

double handshake_admission::bucket::tokens_at(clock_type::time_point now,
                                              std::uint32_t rate) const {
  const double seconds = std::chrono::duration<double>(now - refilled).count();
  return std::min<double>(rate, tokens + std::max(seconds, 0.0) * rate);
}

handshake_admission::bucket* handshake_admission::address_bucket(
    const sockaddr_storage& peer, clock_type::time_point now) {
  if (per_address_ == 0) return nullptr;
  const peer_key key = peer_key::of(peer);
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_addresses_)  // forget the full buckets
      std::erase_if(buckets_, [&](const auto& entry) {
        return entry.second.tokens_at(now, per_address_) >= per_address_;
      });
    if (buckets_.size() >= max_addresses_) return nullptr;
    found = buckets_.emplace(key, bucket{double(per_address_), now}).first;
  }
  bucket& b = found->second;
  b.tokens = b.tokens_at(now, per_address_);
  b.refilled = now;
  return &b;
}

handshake_admission::verdict handshake_admission::admit(
    const sockaddr_storage& peer, clock_type::time_point now) {
  bucket* address = address_bucket(peer, now);
  if (address && address->tokens < 1.0) return verdict::over_address;
  if (per_node_ != 0) {
    node_.tokens = node_.tokens_at(now, per_node_);
    node_.refilled = now;
    if (node_.tokens < 1.0) return verdict::over_node;
    node_.tokens -= 1.0;
  }
  if (address) address->tokens -= 1.0;
  return verdict::admitted;
}

}  // namespace vitrine::detail
