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

double handshake_admission::tokens_at(const bucket& b,
                                      clock_type::time_point now) const {
  const double seconds =
      std::chrono::duration<double>(now - b.refilled).count();
  return std::min<double>(per_second_, b.tokens + seconds * per_second_);
}

bool handshake_admission::admit(const sockaddr_storage& peer,
                                clock_type::time_point now) {
  if (per_second_ == 0) return true;
  const peer_key key = peer_key::of(peer);
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_addresses_)  // forget the full buckets
      std::erase_if(buckets_, [&](const auto& entry) {
        return tokens_at(entry.second, now) >= per_second_;
      });
    if (buckets_.size() >= max_addresses_) return true;
    found = buckets_.emplace(key, bucket{double(per_second_), now}).first;
  }
  bucket& b = found->second;
  b.tokens = tokens_at(b, now);
  b.refilled = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace vitrine::detail
