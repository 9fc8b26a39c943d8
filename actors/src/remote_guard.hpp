// remote_guard: a TCP front for a node's CAF port that checks BASP framing
// before CAF reads it. CAF 0.17's BASP has no payload limit: a 32-byte
// header announcing ~4 GiB makes the middleman allocate (and zero) a read
// buffer that large. The guard listens on the public address, relays each
// connection to the middleman (through a socketpair CAF adopts, see
// basp_socketpair.hpp; with TLS, it is the TLS end itself, guard_tls.hpp,
// and relays the plaintext), and closes it when a header from the peer has an
// unknown operation, a payload longer than the limit, is a handshake without a
// payload (CAF would dereference a null buffer), comes first and is no client
// handshake, or would take what the peers have announced and not
// finished sending past 64 MiB in all (CAF allocates a whole payload when
// its header comes). It also bounds what connections cost before CAF's
// heartbeats apply (CAF sets no handshake timeout): a peer that completes no
// message (nor sends 64 KiB) within the silence limit is closed, and past
// max_connections a new one is closed at once. With TLS, a peer whose
// handshake fails, or does not end within the silence limit, is closed,
// and so is a new one from an address past its handshakes a second
// (guard_admission.hpp).
// Each connection it closes for one of these reasons is reported
// (serve_options::on_refused). Internal to the actors/ library.
//
// Threads: one relay thread (poll), started by the constructor and joined
// by the destructor; it does the TLS handshakes and the records'
// encryption. Costs: one extra local hop each way (two copies and a thread
// wake-up per burst); memory: one 16 KiB buffer per direction per
// connection (at most max_connections of them), and an OpenSSL session
// per TLS connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "guard_admission.hpp"
#include "guard_framing.hpp"

namespace vitrine::detail {

class tls_server;

class remote_guard {
 public:
  struct limits {
    std::uint32_t max_payload;  ///< the largest BASP payload announced
    std::uint32_t max_connections;
    /// A peer that completes no message (and sends less than 64 KiB) for
    /// this long is closed (a controller's heartbeats come more often:
    /// they share the connection timeout).
    std::chrono::milliseconds silence;
    /// The port speaks TLS with these settings (null: plain BASP): the
    /// guard is the TLS end, the node's middleman is connected once a
    /// peer's handshake is done, and a peer that has not finished its
    /// handshake within `silence` of connecting is closed.
    std::shared_ptr<const tls_server> tls;
    /// With TLS: handshakes started a second per peer address, and from
    /// all peers together (past either, a new connection is closed at
    /// accept); 0: no such limit.
    std::uint32_t tls_handshakes_per_second = 0;
    std::uint32_t tls_handshakes_per_second_total = 0;
  };
  /// Called on the relay thread with the peer's address and why the
  /// relay closed its connection; may be empty.
  using refusal_report =
      std::function<void(std::string_view peer, std::string_view why)>;
  /// Called on the relay thread for each peer it relays: a new connected,
  /// non-blocking, close-on-exec socket to the node's middleman, or -1
  /// with errno set.
  using upstream_connector = std::function<int()>;

  /// Listens on bind_address:port (0: any free port); throws
  /// std::runtime_error when it cannot.
  remote_guard(const std::string& bind_address, std::uint16_t port,
               upstream_connector upstream, limits l,
               refusal_report report = {});
  ~remote_guard();
  remote_guard(const remote_guard&) = delete;
  remote_guard& operator=(const remote_guard&) = delete;

  std::uint16_t port() const noexcept { return port_; }

 private:
  struct connection;
  struct pipe_dir;
  void run();
  /// Accepts the peers waiting on the listener (past max_connections, each
  /// is closed and reported).
  void accept_peers(std::vector<std::unique_ptr<connection>>& conns);
  /// Moves bytes along one direction `d` of `c` as its fds' poll events
  /// allow: reads when `d` has nothing left to write, checks what the peer
  /// sent (c.in), writes; sets c.broken (and c.refused) to close it.
  void pump(connection& c, pipe_dir& d, short from_ev, short to_ev,
            guard_framing::budget& announced) const;
  /// Connects `c` to the node's port; false (c.refused says why) if the
  /// port refused.
  bool connect_to_node(connection& c) const;
  /// What `d` carries next, read (and, with TLS, decrypted or encrypted)
  /// into d.buf: its length, 0 when nothing is ready; sets c.broken (and
  /// c.refused) when the connection ends or fails.
  std::size_t fill(connection& c, pipe_dir& d, short from_ev) const;
  static void close_connection(connection& c);
  void report(std::string_view peer, std::string_view why) const;

  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  upstream_connector upstream_;
  limits limits_;
  handshake_admission admission_;  // the relay thread's
  refusal_report report_;
  std::thread thread_;
};

}  // namespace vitrine::detail
