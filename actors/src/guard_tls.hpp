// guard_tls: the TLS end of a node's guard (remote_guard). The guard
// terminates TLS itself and hands CAF the plaintext over its socketpairs,
// so that it checks BASP framing under TLS as it does without, and CAF's
// own TLS end (whose handshake spins its thread while the peer is silent)
// never faces a peer. A session works on memory buffers, never on a
// socket: the guard moves the peer's bytes in and out, so a handshake
// waiting on the peer costs nothing until the peer sends. Internal to the
// actors/ library.
//
// Threads: a tls_server is built on any thread and shared read-only; a
// session belongs to the guard's relay thread. Costs: the OpenSSL context
// is built once per served port (the PEM files are read then, not per
// connection); per connection, an OpenSSL session (~a few KiB) and the
// records' encryption.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace vitrine {
struct tls_options;
}

namespace vitrine::detail {

/// The server side's TLS settings, shared by its sessions: the
/// certificate chain and key, and the CA a client's certificate must chain
/// to (a client without one is refused), with the cipher list CAF's
/// clients use.
class tls_server {
 public:
  /// Reads the files; throws std::runtime_error naming the file and
  /// OpenSSL's reason when one cannot be used.
  explicit tls_server(const tls_options& files);
  ~tls_server();
  tls_server(const tls_server&) = delete;
  tls_server& operator=(const tls_server&) = delete;

  ssl_ctx_st* context() const noexcept { return context_; }

 private:
  ssl_ctx_st* context_;
};

/// One peer's TLS session, server side, on memory buffers.
class tls_session {
 public:
  /// What read() found.
  enum class outcome { data, needs_input, closed, failed };

  explicit tls_session(const tls_server& server);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  /// Hands the session bytes the peer sent.
  void feed(const unsigned char* p, std::size_t n);
  /// Advances the handshake and decrypts into [p, p + cap): `data` with
  /// n > 0 bytes; `needs_input` when nothing more comes until the peer
  /// sends (the handshake may have advanced: see has_output()); `closed`
  /// at the peer's close_notify; `failed` (why() says why).
  outcome read(unsigned char* p, std::size_t cap, std::size_t& n);
  /// Encrypts the n bytes (all of them once established); false on a
  /// failure (why()).
  bool write(const unsigned char* p, std::size_t n);
  /// Records for the peer (handshake or data), up to cap bytes; 0 when
  /// none wait.
  std::size_t take_output(unsigned char* p, std::size_t cap);
  bool has_output() const noexcept;
  /// read() asked for more of the peer's bytes and none came since.
  bool needs_input() const noexcept { return needs_input_; }
  bool established() const noexcept;
  const std::string& why() const noexcept { return why_; }

 private:
  ssl_st* ssl_;
  bio_st* in_;   // the peer's bytes (owned by ssl_)
  bio_st* out_;  // for the peer (owned by ssl_)
  bool needs_input_ = true;
  std::string why_;
};

/// Why the last call on `ssl` failed: the peer's certificate refused
/// ("WHOSE certificate: " and OpenSSL's words for why), else the reasons in
/// the calling thread's OpenSSL error queue (emptied); "no reason given"
/// when there are none.
std::string tls_failure_reason(ssl_st* ssl, std::string_view whose);

}  // namespace vitrine::detail
