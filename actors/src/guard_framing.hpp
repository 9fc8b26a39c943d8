// guard_framing: what remote_guard reads of one peer's stream before CAF
// does. It follows the framing of the bytes the peer sends (BASP 0.17
// headers and the payloads they announce; under TLS, the plaintext),
// refuses a header CAF must not see (remote_guard.hpp says which) and a
// first BASP message that is not a client handshake, counts
// the payloads announced and not yet received against a budget shared by
// all peers (those over 64 KiB: smaller ones, one per connection, are
// bounded by the number of connections), and keeps the time the peer was
// last heard. Internal to the actors/ library.
//
// Threads: the guard's relay thread only. Cost: a copy of each header
// (32 bytes) and a few compares per read; no allocation unless a
// header is refused (its reason).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace vitrine::detail {

inline constexpr std::size_t basp_header_size = 32;  // BASP 0.17 header

/// Why a BASP header (32 bytes, network byte order) is refused; empty when
/// it is acceptable.
std::string basp_header_problem(const unsigned char* header,
                                std::uint32_t max_payload);

class guard_framing {
 public:
  using clock_type = std::chrono::steady_clock;

  /// The payloads announced by every peer and not yet received, in all.
  struct budget {
    std::uint64_t in_flight = 0;
    std::uint64_t limit;
  };

  /// Checks the `n` bytes just read from the peer: empty when they may be
  /// passed on, else why the connection is refused. `max_payload` bounds
  /// one BASP message.
  std::string check(const unsigned char* p, std::size_t n,
                    std::uint32_t max_payload, budget& shared);

  /// The connection is done with: its unfinished message leaves `shared`.
  void settle(budget& shared) noexcept;

  /// When the peer last completed a message or sent 64 KiB (from accept
  /// until then).
  clock_type::time_point last_heard() const noexcept { return last_heard_; }

 private:
  /// Why the header just completed is refused (empty: it is not); sets
  /// payload_left_ and counts a BASP payload in `shared`.
  std::string take_header(std::uint32_t max_payload, budget& shared);

  clock_type::time_point last_heard_ = clock_type::now();
  std::size_t unheard_bytes_ = 0;
  unsigned char header_[basp_header_size];
  std::size_t header_seen_ = 0;
  std::uint64_t payload_left_ = 0;  ///< of the message being received
  std::uint64_t announced_ = 0;     ///< BASP: that message's, in `budget`
  bool greeted_ = false;            ///< BASP: the client handshake came (first)
};

}  // namespace vitrine::detail
