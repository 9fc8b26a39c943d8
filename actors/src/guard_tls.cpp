// The guard's TLS end (guard_tls.hpp): an OpenSSL server context built
// once, and sessions on memory BIOs.
#include "guard_tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <climits>
#include <new>
#include <stdexcept>

#include "remote_tls.hpp"
#include "vitrine/remote.hpp"

namespace vitrine::detail {
namespace {

[[noreturn]] void unusable(SSL_CTX* ctx, const char* what,
                           const std::string& path) {
  const auto why = openssl_errors();
  ::SSL_CTX_free(ctx);
  throw std::runtime_error("vitrine: TLS " + std::string{what} + " '" + path +
                           "' cannot be used to serve (" + why + ")");
}

int clamp_int(std::size_t n) {
  return static_cast<int>(std::min<std::size_t>(n, INT_MAX));
}

}  // namespace

tls_server::tls_server(const tls_options& files)
    : context_(::SSL_CTX_new(::TLS_server_method())) {
  if (!context_) throw std::bad_alloc{};
  ::ERR_clear_error();
  // The passphrase is needed while the key loads only.
  const std::string phrase = files.passphrase;
  ::SSL_CTX_set_default_passwd_cb(context_, passphrase_callback);
  ::SSL_CTX_set_default_passwd_cb_userdata(context_,
                                           const_cast<std::string*>(&phrase));
  if (::SSL_CTX_use_certificate_chain_file(context_,
                                           files.certificate.c_str()) != 1)
    unusable(context_, "certificate", files.certificate);
  if (::SSL_CTX_use_PrivateKey_file(context_, files.key.c_str(),
                                    SSL_FILETYPE_PEM) != 1 ||
      ::SSL_CTX_check_private_key(context_) != 1)
    unusable(context_, "key", files.key);
  ::SSL_CTX_set_default_passwd_cb(context_, nullptr);
  ::SSL_CTX_set_default_passwd_cb_userdata(context_, nullptr);
  if (::SSL_CTX_load_verify_locations(context_, files.ca_file.c_str(),
                                      nullptr) != 1)
    unusable(context_, "CA file", files.ca_file);
  // The CAs a client's certificate must chain to, named in the request.
  if (auto* names = ::SSL_load_client_CA_file(files.ca_file.c_str()))
    ::SSL_CTX_set_client_CA_list(context_, names);
  // As CAF's own sessions (libcaf_openssl's session.cpp): a certificate
  // required on both sides, and its cipher list for TLS 1.2.
  ::SSL_CTX_set_verify(
      context_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  if (::SSL_CTX_set_cipher_list(context_, "HIGH:!aNULL:!MD5") != 1)
    unusable(context_, "cipher list", "HIGH:!aNULL:!MD5");
  // One connection per controller for as long as it runs: no resumption,
  // no tickets to send, no renegotiation.
  ::SSL_CTX_set_options(context_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  ::SSL_CTX_set_num_tickets(context_, 0);
  ::SSL_CTX_set_session_cache_mode(context_, SSL_SESS_CACHE_OFF);
}

tls_server::~tls_server() {
  ::SSL_CTX_free(context_);
}

tls_session::tls_session(const tls_server& server)
    : ssl_(::SSL_new(server.context())),
      in_(::BIO_new(::BIO_s_mem())),
      out_(::BIO_new(::BIO_s_mem())) {
  if (!ssl_ || !in_ || !out_) {
    ::SSL_free(ssl_);
    ::BIO_free(in_);
    ::BIO_free(out_);
    throw std::bad_alloc{};
  }
  // An empty input buffer means "more to come", not the end of the stream.
  BIO_set_mem_eof_return(in_, -1);
  ::SSL_set_bio(ssl_, in_, out_);  // ssl_ owns both from here
  ::SSL_set_accept_state(ssl_);
}

tls_session::~tls_session() {
  ::SSL_free(ssl_);
}

void tls_session::feed(const unsigned char* p, std::size_t n) {
  if (n == 0) return;
  if (::BIO_write(in_, p, clamp_int(n)) != clamp_int(n)) throw std::bad_alloc{};
  needs_input_ = false;
}

tls_session::outcome tls_session::read(unsigned char* p, std::size_t cap,
                                       std::size_t& n) {
  n = 0;
  ::ERR_clear_error();
  const int r = ::SSL_read(ssl_, p, clamp_int(cap));
  if (r > 0) {
    n = static_cast<std::size_t>(r);
    return outcome::data;
  }
  switch (::SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:  // a memory BIO takes any write
      needs_input_ = true;
      return outcome::needs_input;
    case SSL_ERROR_ZERO_RETURN:
      return outcome::closed;
    default:
      break;
  }
  why_ = (established() ? "TLS failed (" : "TLS handshake failed (") +
         tls_failure_reason(ssl_, "the peer's") + ")";
  return outcome::failed;
}

std::string tls_failure_reason(ssl_st* ssl, std::string_view whose) {
  // A certificate refused names why (OpenSSL's queue then says only
  // "certificate verify failed"); otherwise OpenSSL's reasons.
  std::string reason;
  const long verified = ::SSL_get_verify_result(ssl);
  if (verified != X509_V_OK) {
    reason = std::string{whose} +
             " certificate: " + ::X509_verify_cert_error_string(verified);
    ::ERR_clear_error();
  }
  while (const unsigned long e = ::ERR_get_error()) {
    const char* text = ::ERR_reason_error_string(e);
    if (!reason.empty()) reason += "; ";
    reason += text ? text : "unknown error";
  }
  return reason.empty() ? "no reason given" : reason;
}

bool tls_session::write(const unsigned char* p, std::size_t n) {
  while (n > 0) {
    ::ERR_clear_error();
    const int r = ::SSL_write(ssl_, p, clamp_int(n));
    if (r <= 0) {
      why_ = "TLS failed (" + openssl_errors() + ")";
      return false;
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::size_t tls_session::take_output(unsigned char* p, std::size_t cap) {
  const int r = ::BIO_read(out_, p, clamp_int(cap));
  return r > 0 ? static_cast<std::size_t>(r) : 0;
}

bool tls_session::has_output() const noexcept {
  return BIO_ctrl_pending(out_) > 0;
}

bool tls_session::established() const noexcept {
  return ::SSL_is_init_finished(ssl_) == 1;
}

}  // namespace vitrine::detail
