// A TLS node's handshake and first header, checked before CAF connects
// through the relay (remote_tls_greeting.hpp).
#include "remote_tls_greeting.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string_view>

#include "guard_tls.hpp"
#include "remote_greeting.hpp"
#include "remote_tls.hpp"
#include "vitrine/os/tcp_connect.hpp"

namespace vitrine::detail {
namespace {

using clock_type = std::chrono::steady_clock;

struct context_free {
  void operator()(SSL_CTX* c) const noexcept { ::SSL_CTX_free(c); }
};

/// A client context as CAF's OpenSSL module makes one: our certificate
/// and key, the node's certificate checked against the CA file, CAF's
/// cipher list. Null (and `why`) when a file cannot be used.
std::unique_ptr<SSL_CTX, context_free> client_context(const tls_options& files,
                                                      std::string& why) {
  std::unique_ptr<SSL_CTX, context_free> ctx{
      ::SSL_CTX_new(::TLS_client_method())};
  if (!ctx) {
    why = "TLS: " + openssl_errors();
    return nullptr;
  }
  ::ERR_clear_error();
  const std::string phrase = files.passphrase;  // needed while the key loads
  ::SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_callback);
  ::SSL_CTX_set_default_passwd_cb_userdata(ctx.get(),
                                           const_cast<std::string*>(&phrase));
  const bool usable =
      ::SSL_CTX_use_certificate_chain_file(ctx.get(),
                                           files.certificate.c_str()) == 1 &&
      ::SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(),
                                    SSL_FILETYPE_PEM) == 1 &&
      ::SSL_CTX_check_private_key(ctx.get()) == 1 &&
      ::SSL_CTX_load_verify_locations(ctx.get(), files.ca_file.c_str(),
                                      nullptr) == 1 &&
      ::SSL_CTX_set_cipher_list(ctx.get(), "HIGH:!aNULL:!MD5") == 1;
  ::SSL_CTX_set_default_passwd_cb(ctx.get(), nullptr);
  ::SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), nullptr);
  if (!usable) {
    why = "TLS files not usable (" + openssl_errors() + ")";
    return nullptr;
  }
  ::SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

/// A client session whose records go through memory buffers, moved to
/// and from the socket here with send(MSG_NOSIGNAL) and recv(): OpenSSL's
/// socket BIO writes with write(2), and its alert to a peer that had
/// closed raised SIGPIPE, which killed the controller (an outside tester:
/// `status --node` exited 141 at a port that accepts and closes, and at a
/// node refusing more handshakes from this address).
class tls_over_socket {
 public:
  enum class ending { none, closed, timed_out };

  tls_over_socket(SSL* ssl, int fd, clock_type::time_point deadline,
                  const std::stop_token& stop)
      : ssl_(ssl),
        fd_(fd),
        deadline_(deadline),
        stop_(stop),
        in_(::BIO_new(::BIO_s_mem())),
        out_(::BIO_new(::BIO_s_mem())) {
    if (in_ && out_) {
      BIO_set_mem_eof_return(in_, -1);  // empty: more to come
      ::SSL_set_bio(ssl_, in_, out_);   // ssl_ owns both from here
    } else {
      ::BIO_free(in_);
      ::BIO_free(out_);
      in_ = out_ = nullptr;
    }
    ::SSL_set_connect_state(ssl_);
  }
  bool usable() const noexcept { return in_ != nullptr; }

  /// Runs `step` (SSL_connect or an SSL_read) until it succeeds (> 0),
  /// sending what the session wrote after each call and feeding it what
  /// the peer sends. Returns the step's result, or 0 with ended() set when
  /// the peer closed or the deadline (or a stop request) came first.
  template <class Step>
  int run(Step step) {
    for (;;) {
      ::ERR_clear_error();
      const int r = step();
      const int e = r > 0 ? SSL_ERROR_NONE : ::SSL_get_error(ssl_, r);
      if (!flush()) return 0;  // also an alert after a failure
      if (r > 0) return r;
      if (e != SSL_ERROR_WANT_READ) return r;
      if (!fill()) return 0;
    }
  }
  ending ended() const noexcept { return ended_; }
  /// The first bytes the peer sent, as they came (up to 32).
  const std::string& first_bytes() const noexcept { return first_; }

 private:
  /// Sends what the session wrote; false (ended_ set) when it cannot.
  bool flush() {
    char buf[4096];
    for (;;) {
      const int n = ::BIO_read(out_, buf, sizeof buf);
      if (n <= 0) return true;
      for (int sent = 0; sent < n;) {
        const ssize_t w =
            ::send(fd_, buf + sent, static_cast<std::size_t>(n - sent),
                   MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
          sent += static_cast<int>(w);
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
          if (os::wait_ready(fd_, POLLOUT, deadline_, stop_) <= 0)
            return end(ending::timed_out);
        } else {
          return end(ending::closed);
        }
      }
    }
  }
  /// Feeds the session what the peer sent; false (ended_ set) at its end.
  bool fill() {
    char buf[4096];
    for (;;) {
      if (os::wait_ready(fd_, POLLIN, deadline_, stop_) <= 0)
        return end(ending::timed_out);
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return end(ending::closed);
      if (first_.size() < basp_greeting_size)
        first_.append(
            buf, std::min<std::size_t>(static_cast<std::size_t>(n),
                                       basp_greeting_size - first_.size()));
      ::BIO_write(in_, buf, static_cast<int>(n));
      return true;
    }
  }
  bool end(ending how) {
    ended_ = how;
    return false;
  }

  SSL* ssl_;
  int fd_;
  clock_type::time_point deadline_;
  const std::stop_token& stop_;
  BIO* in_;
  BIO* out_;
  ending ended_ = ending::none;
  std::string first_;
};

/// How long a port that closed on our handshake is given to show itself a
/// node without TLS (its greeting comes at once; a TLS node's never).
constexpr std::chrono::milliseconds plain_check_timeout{300};

constexpr const char* node_without_tls =
    "no TLS handshake with the node (it is a vitrine node without TLS: "
    "connect without the TLS files)";

/// Whether `bytes` (what a peer sent first) cannot open a TLS record: a
/// record's first byte is its content type, 20..24.
bool not_tls(const std::string& bytes) {
  if (bytes.empty()) return false;
  const auto type = static_cast<unsigned char>(bytes[0]);
  return type < 20 || type > 24;
}

/// Why the handshake with a peer that sent `first` bytes failed, the step
/// having returned `r` (the peer closed: `closed`).
std::string failure(SSL* ssl, int r, bool closed, const std::string& first) {
  // A peer that speaks first, and not TLS: a node without TLS sends its
  // BASP handshake at once (OpenSSL: "wrong version number").
  if (not_tls(first))
    return first.size() == basp_greeting_size &&
                   is_node_greeting(
                       reinterpret_cast<const unsigned char*>(first.data()))
               ? node_without_tls
               : "no TLS handshake with the node (the port does not speak "
                 "TLS: is it a node's?)";
  const unsigned long queued = ::ERR_peek_error();
  // Closed without a TLS alert: a node without TLS closes on a
  // ClientHello, a guard closing it at accept, or no node at all.
  if (closed || ::SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN ||
      ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
    return "no TLS handshake with the node (the port closed the "
           "connection: a node refusing more handshakes, from this "
           "address or from all during a flood; a node without TLS; or "
           "not a node)";
  // An alert received: the node refused us ("tlsv1 alert unknown ca": our
  // certificate is not from its CA; with TLS 1.3 it comes with the first
  // read, after our side of the handshake is done).
  const char* reason = ::ERR_reason_error_string(queued);
  const bool alert =
      ::SSL_get_verify_result(ssl) == X509_V_OK &&
      ERR_GET_LIB(queued) == ERR_LIB_SSL && reason &&
      std::string_view{reason}.find(" alert ") != std::string_view::npos;
  return std::string{"no TLS handshake with the node ("} +
         (alert ? "the node refused: " : "") +
         tls_failure_reason(ssl, "the node's") + ")";
}

tls_node_greeting refused(std::string why) {
  return {std::move(why), nullptr};
}

}  // namespace

tls_node_stream::~tls_node_stream() {
  ::SSL_free(session);
  ::SSL_CTX_free(context);
}

tls_node_greeting greet_tls_node(const remote_endpoint& node,
                                 const tls_options& files,
                                 std::chrono::milliseconds timeout,
                                 const std::stop_token& stop) {
  const auto deadline = clock_type::now() + timeout;
  const std::string no_answer = "no answer within " +
                                std::to_string(timeout.count()) +
                                " ms (stopped, overloaded, or not a node?)";
  auto connection = os::connect_tcp(node.host, node.port, deadline, stop);
  switch (connection.status) {
    case os::tcp_connect_status::refused:
      return refused(
          "cannot connect (nothing listening, or the host is unknown)");
    case os::tcp_connect_status::no_answer:
      return refused(no_answer);
    case os::tcp_connect_status::connected:
      break;
  }
  std::string why;
  auto ctx = client_context(files, why);
  if (!ctx) return refused(why);
  auto stream = std::make_shared<tls_node_stream>();
  stream->context = ctx.release();
  stream->session = ::SSL_new(stream->context);
  if (!stream->session) return refused("TLS: out of memory");
  SSL* const ssl = stream->session;
  tls_over_socket session{ssl, connection.fd.get(), deadline, stop};
  if (!session.usable()) return refused("TLS: out of memory");
  const auto ended = [&](int r, bool handshake) -> tls_node_greeting {
    if (session.ended() == tls_over_socket::ending::timed_out)
      return refused(no_answer);
    const bool closed = session.ended() == tls_over_socket::ending::closed;
    // (Its records came first: the peer said nothing after the handshake.)
    if (!handshake && closed)
      return refused(
          "no vitrine node answered (the connection was closed after "
          "the TLS handshake: is this port a node's?)");
    // Closed before saying anything: a node without TLS speaks first, but
    // its guard may close on our ClientHello before its own first bytes
    // went out (one attempt in three, an outside tester). Asked without
    // TLS, such a node says what it is; a TLS node does not speak first.
    if (handshake && closed && session.first_bytes().empty() &&
        !check_node_greeting(node, plain_check_timeout, stop))
      return refused(node_without_tls);
    return refused(failure(ssl, r, closed, session.first_bytes()));
  };
  int r = session.run([&] { return ::SSL_connect(ssl); });
  if (r <= 0) return ended(r, true);
  // The node's CAF writes its server handshake once the guard has handed
  // it the connection.
  auto& header = stream->header;
  std::size_t got = 0;
  while (got < sizeof header) {
    r = session.run([&] {
      return ::SSL_read(ssl, header + got,
                        static_cast<int>(sizeof header - got));
    });
    if (r <= 0) return ended(r, false);
    got += static_cast<std::size_t>(r);
  }
  if (!is_node_greeting(header))
    return refused("no vitrine node answered (is this port a node's?)");
  stream->socket = std::move(connection.fd);
  return {{}, std::move(stream)};
}

}  // namespace vitrine::detail
