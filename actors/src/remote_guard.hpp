// remote_guard: a TCP front for a node's CAF port that checks BASP framing
// before CAF reads it. CAF 0.17's BASP has no payload limit: a 32-byte
// header announcing ~4 GiB makes the middleman allocate (and zero) a read
// buffer that large. The guard listens on the public address, relays each
// connection to the middleman's port on 127.0.0.1, and closes it when a
// header from the peer has an unknown operation, a payload longer than
// the limit, or is a handshake without a payload (CAF would dereference a
// null buffer). It also bounds what connections cost before CAF's heartbeats
// apply (CAF sets no handshake timeout): a peer that completes no message
// (nor sends 64 KiB) within the silence limit is closed, and past
// max_connections a new one is closed at once. Internal to the actors/ library.
//
// Threads: one relay thread (poll), started by the constructor and joined
// by the destructor. Costs: one extra loopback hop each way (two copies and
// a thread wake-up per burst); memory: one 16 KiB buffer per direction per
// connection (at most max_connections of them).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace vitrine::detail {

class remote_guard {
 public:
  struct limits {
    std::uint32_t max_payload;  ///< the largest BASP payload announced
    std::uint32_t max_connections;
    /// A peer that completes no message (and sends less than 64 KiB) for
    /// this long is closed (a controller's heartbeats come more often:
    /// they share the connection timeout).
    std::chrono::milliseconds silence;
  };

  /// Listens on bind_address:port (0: any free port); throws
  /// std::runtime_error when it cannot.
  remote_guard(const std::string& bind_address, std::uint16_t port,
               std::uint16_t upstream_port, limits l);
  ~remote_guard();
  remote_guard(const remote_guard&) = delete;
  remote_guard& operator=(const remote_guard&) = delete;

  std::uint16_t port() const noexcept { return port_; }

  /// True when a BASP header (32 bytes, network byte order) is acceptable.
  static bool header_ok(const unsigned char* header,
                        std::uint32_t max_payload) noexcept;

 private:
  struct connection;
  void run();

  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::uint16_t upstream_;
  limits limits_;
  std::thread thread_;
};

}  // namespace vitrine::detail
