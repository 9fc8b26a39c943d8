// The guard's handshake admission (actors/src/guard_admission.hpp): a token
// bucket per peer address, IPv4 addresses alone, IPv6 ones by /64.
#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include "guard_admission.hpp"

namespace {

using vitrine::detail::handshake_admission;
using vitrine::detail::peer_key;
using namespace std::chrono_literals;

sockaddr_storage address(const char* text, std::uint16_t port = 4000) {
  sockaddr_storage a{};
  auto& in4 = reinterpret_cast<sockaddr_in&>(a);
  auto& in6 = reinterpret_cast<sockaddr_in6&>(a);
  if (::inet_pton(AF_INET, text, &in4.sin_addr) == 1) {
    in4.sin_family = AF_INET;
    in4.sin_port = htons(port);
  } else {
    REQUIRE(::inet_pton(AF_INET6, text, &in6.sin6_addr) == 1);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
  }
  return a;
}

/// How many of `n` handshakes from `peer` at `at` are admitted.
int admitted(handshake_admission& a, const char* peer, int n,
             handshake_admission::clock_type::time_point at) {
  int yes = 0;
  for (int i = 0; i < n; ++i)
    yes += a.admit(address(peer), at) == handshake_admission::verdict::admitted;
  return yes;
}

}  // namespace

TEST_CASE("an address gets its handshakes a second, in one burst at most",
          "[remote][guard]") {
  handshake_admission limit{5, 0};
  const auto t0 = handshake_admission::clock_type::now();
  CHECK(admitted(limit, "192.0.2.1", 8, t0) == 5);
  CHECK(admitted(limit, "192.0.2.1", 8, t0 + 100ms) == 0);  // half a token
  CHECK(admitted(limit, "192.0.2.1", 8, t0 + 200ms) == 1);
  // A quiet second refills the bucket, never past one burst.
  CHECK(admitted(limit, "192.0.2.1", 8, t0 + 10s) == 5);
  // Other addresses have buckets of their own.
  CHECK(admitted(limit, "192.0.2.2", 8, t0) == 5);
}

TEST_CASE("IPv6 addresses count by /64; a mapped IPv4 one as itself",
          "[remote][guard]") {
  handshake_admission limit{3, 0};
  const auto t0 = handshake_admission::clock_type::now();
  CHECK(admitted(limit, "2001:db8:1:2::1", 2, t0) == 2);
  CHECK(admitted(limit, "2001:db8:1:2:ffff::9", 2, t0) == 1);  // same /64
  CHECK(admitted(limit, "2001:db8:1:3::1", 3, t0) == 3);       // another
  CHECK(admitted(limit, "198.51.100.7", 2, t0) == 2);
  CHECK(admitted(limit, "::ffff:198.51.100.7", 2, t0) == 1);  // the same host
  CHECK(admitted(limit, "::ffff:198.51.100.8", 3, t0) == 3);
  CHECK(peer_key::of(address("10.0.0.1", 1)) ==
        peer_key::of(address("10.0.0.1", 2)));  // ports do not count
}

TEST_CASE("0 is no limit; past max_addresses full buckets are forgotten",
          "[remote][guard]") {
  const auto t0 = handshake_admission::clock_type::now();
  handshake_admission unlimited{0, 0};
  CHECK(admitted(unlimited, "192.0.2.1", 1000, t0) == 1000);
  CHECK(unlimited.tracked() == 0);

  handshake_admission limit{2, 0, 2};
  CHECK(admitted(limit, "192.0.2.1", 3, t0) == 2);
  CHECK(admitted(limit, "192.0.2.2", 3, t0) == 2);
  // A third address while both buckets are spent: admitted, not tracked
  // (more addresses than max_addresses are not limited one by one; the
  // node's limit, none here, still applies).
  CHECK(admitted(limit, "192.0.2.3", 3, t0) == 3);
  CHECK(limit.tracked() == 2);
  // Once the two have refilled, they make room.
  CHECK(admitted(limit, "192.0.2.3", 3, t0 + 2s) == 2);
  CHECK(limit.tracked() == 1);
}

TEST_CASE(
    "all addresses together get the node's handshakes a second; a refusal "
    "spends neither limit",
    "[remote][guard]") {
  using verdict = handshake_admission::verdict;
  handshake_admission limit{3, 10, 4};
  const auto t0 = handshake_admission::clock_type::now();
  // A flood from many addresses: each within its own limit, 10 in all.
  int in_all = 0;
  for (int host = 1; host <= 8; ++host) {
    const std::string peer = "192.0.2." + std::to_string(host);
    in_all += admitted(limit, peer.c_str(), 2, t0);
  }
  CHECK(in_all == 10);
  CHECK(limit.admit(address("192.0.2.9"), t0) == verdict::over_node);
  // Past max_addresses, an address is bounded by the node's limit alone.
  CHECK(limit.tracked() <= 4);
  // An address over its own limit is told so, and spends no node token.
  handshake_admission both{2, 3};
  const auto t1 = handshake_admission::clock_type::now();
  CHECK(admitted(both, "198.51.100.1", 2, t1) == 2);
  CHECK(both.admit(address("198.51.100.1"), t1) == verdict::over_address);
  CHECK(both.admit(address("198.51.100.1"), t1) == verdict::over_address);
  CHECK(both.admit(address("198.51.100.2"), t1) == verdict::admitted);
  CHECK(both.admit(address("198.51.100.3"), t1) == verdict::over_node);
  // A tenth of a second gives the node back 0.3 of a handshake; a second,
  // all of them, never past one burst.
  CHECK(both.admit(address("198.51.100.3"), t1 + 100ms) == verdict::over_node);
  CHECK(admitted(both, "198.51.100.4", 5, t1 + 5s) == 2);
  CHECK(admitted(both, "198.51.100.5", 5, t1 + 5s) == 1);
}
