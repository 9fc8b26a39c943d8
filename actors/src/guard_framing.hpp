// guard_framing: what remote_guard reads of one peer's stream before CAF
// does. It follows the framing of the bytes the peer sends (BASP 0.17
// headers and the payloads they announce, or TLS records relayed unread),
// refuses a header CAF must not see (remote_guard.hpp says which) and a
// first BASP message that is not a client handshake, counts
// the payloads announced and not yet received against a budget shared by
// all peers, and keeps the time the peer was last heard. Internal to the
// actors/ library.
//
// Threads: the guard's relay thread only. Cost: a copy of each header
// (32 or 5 bytes) and a few compares per read; no allocation unless a
// header is refused (its reason).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace vitrine::detail {

inline constexpr std::size_t basp_header_size = 32;  // BASP 0.17 header
/// A TLS record's header: content type, version (2 bytes), length (2).
inline constexpr std::size_t tls_header_size = 5;

/// Why a BASP header (32 bytes, network byte order) is refused; empty when
/// it is acceptable.
std::string basp_header_problem(const unsigned char* header,
                                std::uint32_t max_payload);

/// Why a TLS record header is refused; empty when it is acceptable.
std::string tls_record_problem(const unsigned char* header);

class guard_framing {
 public:
  using clock_type = std::chrono::steady_clock;

  /// The payloads announced by every peer and not yet received, in all.
  struct budget {
    std::uint64_t in_flight = 0;
    std::uint64_t limit;
  };

  explicit guard_framing(bool tls) : tls_(tls) {}

  /// Checks the `n` bytes just read from the peer: empty when they may be
  /// passed on, else why the connection is refused. `max_payload` bounds
  /// one BASP message.
  std::string check(const unsigned char* p, std::size_t n,
                    std::uint32_t max_payload, budget& shared);

  /// The connection is done with: its unfinished message leaves `shared`.
  void settle(budget& shared) noexcept;

  /// When the peer last completed a message or sent 64 KiB (TLS: from
  /// accept until it has finished its side of the handshake).
  clock_type::time_point last_heard() const noexcept { return last_heard_; }
  bool tls() const noexcept { return tls_; }
  /// TLS: the peer has sent encrypted data (finished its handshake side).
  bool established() const noexcept { return established_; }

 private:
  std::size_t header_size() const noexcept {
    return tls_ ? tls_header_size : basp_header_size;
  }
  /// Why the header just completed is refused (empty: it is not); sets
  /// payload_left_ and counts a BASP payload in `shared`.
  std::string take_header(std::uint32_t max_payload, budget& shared);

  clock_type::time_point last_heard_ = clock_type::now();
  std::size_t unheard_bytes_ = 0;
  unsigned char header_[basp_header_size];
  std::size_t header_seen_ = 0;
  std::uint64_t payload_left_ = 0;  ///< of the message being received
  std::uint64_t announced_ = 0;     ///< BASP: that message's, in `budget`
  bool tls_;
  bool established_ = false;
  bool greeted_ = false;  ///< BASP: the client handshake came (first)
};

}  // namespace vitrine::detail
