// A TLS node's handshake and first header, checked before CAF connects
// (remote_tls_greeting.hpp).
#include "remote_tls_greeting.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>

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
struct session_free {
  void operator()(SSL* s) const noexcept { ::SSL_free(s); }
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

/// Runs `step` (SSL_connect or an SSL_read) until it succeeds (> 0),
/// waiting in poll() while OpenSSL wants the socket. Returns the step's
/// result, or 0 with `timed_out` set at the deadline or a stop request.
template <class Step>
int until_done(SSL* ssl, int fd, clock_type::time_point deadline,
               const std::stop_token& stop, bool& timed_out, Step step) {
  for (;;) {
    ::ERR_clear_error();
    const int r = step();
    if (r > 0) return r;
    const int e = ::SSL_get_error(ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return r;
    const short events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    if (os::wait_ready(fd, events, deadline, stop) <= 0) {
      timed_out = true;
      return 0;
    }
  }
}

/// Why a step that returned `r` failed.
std::string failure(SSL* ssl, int r, bool handshake) {
  const int e = ::SSL_get_error(ssl, r);
  // Closed without a TLS alert: no TLS there (a plain node closes on a
  // ClientHello), a guard closing it at accept, or no node at all.
  const unsigned long queued = ::ERR_peek_error();
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && queued == 0) ||
      ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
    return handshake
               ? "no TLS handshake with the node (the port closed the "
                 "connection: a node without TLS, a node refusing more "
                 "handshakes from this address, or not a node)"
               : "no vitrine node answered (the connection was closed after "
                 "the TLS handshake: is this port a node's?)";
  // With TLS 1.3 the node refuses our certificate after our side of the
  // handshake is done: its alert comes with the first read.
  // An alert received: the node refused us ("tlsv1 alert unknown ca": our
  // certificate is not from its CA).
  const bool alert = ::SSL_get_verify_result(ssl) == X509_V_OK &&
                     ERR_GET_LIB(queued) == ERR_LIB_SSL &&
                     std::string_view{::ERR_reason_error_string(queued)
                                          ? ::ERR_reason_error_string(queued)
                                          : ""}
                             .find(" alert ") != std::string_view::npos;
  return std::string{"no TLS handshake with the node ("} +
         (alert ? "the node refused: " : "") +
         tls_failure_reason(ssl, "the node's") + ")";
}

}  // namespace

std::string check_tls_node_greeting(const remote_endpoint& node,
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
      return "cannot connect (nothing listening, or the host is unknown)";
    case os::tcp_connect_status::no_answer:
      return no_answer;
    case os::tcp_connect_status::connected:
      break;
  }
  std::string why;
  const auto ctx = client_context(files, why);
  if (!ctx) return why;
  const std::unique_ptr<SSL, session_free> ssl{::SSL_new(ctx.get())};
  const int fd = connection.fd.get();
  if (!ssl || ::SSL_set_fd(ssl.get(), fd) != 1) return "TLS: out of memory";
  bool timed_out = false;
  int r = until_done(ssl.get(), fd, deadline, stop, timed_out,
                     [&] { return ::SSL_connect(ssl.get()); });
  if (timed_out) return no_answer;
  if (r <= 0) return failure(ssl.get(), r, true);
  // The node's CAF writes its server handshake once the guard has handed
  // it the connection.
  unsigned char header[basp_greeting_size];
  std::size_t got = 0;
  while (got < sizeof header) {
    r = until_done(ssl.get(), fd, deadline, stop, timed_out, [&] {
      return ::SSL_read(ssl.get(), header + got,
                        static_cast<int>(sizeof header - got));
    });
    if (timed_out) return no_answer;
    if (r <= 0) return failure(ssl.get(), r, false);
    got += static_cast<std::size_t>(r);
  }
  if (!is_node_greeting(header))
    return "no vitrine node answered (is this port a node's?)";
  ::SSL_shutdown(ssl.get());  // close_notify: a normal end for the guard
  return {};
}

}  // namespace vitrine::detail
