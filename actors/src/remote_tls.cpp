// TLS for the remote layer (remote_tls.hpp): the up-front check of the
// certificate files, and where a system keeps them.
#include "remote_tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "vitrine/remote.hpp"

namespace vitrine::detail {

std::string openssl_errors() {
  std::string text;
  while (const unsigned long e = ::ERR_get_error()) {
    char buf[256];
    ::ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "not usable" : text;
}

int passphrase_callback(char* buf, int size, int, void* user) {
  const auto* phrase = static_cast<const std::string*>(user);
  if (phrase->empty() || size <= 0) return 0;
  const auto n =
      std::min<std::size_t>(phrase->size(), static_cast<std::size_t>(size - 1));
  std::memcpy(buf, phrase->data(), n);
  buf[n] = '\0';
  return static_cast<int>(n);
}

namespace {

[[noreturn]] void bad_file(const char* what, const std::string& path,
                           const std::string& why) {
  throw std::invalid_argument("vitrine: TLS " + std::string{what} + " '" +
                              path + "': " + why);
}

void require_readable(const char* what, const std::string& path) {
  if (path.empty())
    throw std::invalid_argument(
        std::string{"vitrine: TLS needs a "} + what +
        " (certificate, key and CA file together: both sides authenticate)");
  if (::access(path.c_str(), R_OK) != 0)
    bad_file(what, path, std::strerror(errno));
  // OpenSSL opens it blocking: a FIFO would hang the caller for good.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    bad_file(what, path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) bad_file(what, path, "not a regular file");
}

using context_ptr = std::unique_ptr<SSL_CTX, decltype(&::SSL_CTX_free)>;

/// "Dec  4 12:16:00 2026 GMT".
std::string text_of(const ASN1_TIME* time) {
  std::unique_ptr<BIO, decltype(&::BIO_free)> bio{::BIO_new(::BIO_s_mem()),
                                                  &::BIO_free};
  if (!bio || ::ASN1_TIME_print(bio.get(), time) != 1) return "?";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string{data, static_cast<std::size_t>(n)} : "?";
}

/// Refuses a certificate outside its validity dates, as every peer would
/// (with a TLS failure that names no cause).
void check_validity(const std::string& path, X509* certificate) {
  if (!certificate) return;
  if (::X509_cmp_current_time(::X509_get0_notAfter(certificate)) < 0)
    bad_file("certificate", path,
             "expired on " + text_of(::X509_get0_notAfter(certificate)) +
                 ": every peer refuses it");
  if (::X509_cmp_current_time(::X509_get0_notBefore(certificate)) > 0)
    bad_file("certificate", path,
             "not valid before " + text_of(::X509_get0_notBefore(certificate)) +
                 ": every peer refuses it until then");
}

}  // namespace

void check_tls_files(const tls_options& tls) {
  require_readable("certificate", tls.certificate);
  require_readable("key", tls.key);
  require_readable("CA file", tls.ca_file);
  ::ERR_clear_error();
  std::string phrase = tls.passphrase;
  auto context = [&phrase] {
    context_ptr ctx{::SSL_CTX_new(::TLS_method()), &::SSL_CTX_free};
    if (!ctx)
      throw std::runtime_error("vitrine: cannot create an OpenSSL context: " +
                               openssl_errors());
    ::SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_callback);
    ::SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), &phrase);
    return ctx;
  };
  // Each file alone first, in the order of the flags (a failure is the
  // file itself, not a mismatch), then the key against the certificate.
  const auto ctx = context();
  if (::SSL_CTX_use_certificate_chain_file(ctx.get(),
                                           tls.certificate.c_str()) != 1)
    bad_file("certificate", tls.certificate,
             "not a PEM certificate (" + openssl_errors() + ")");
  check_validity(tls.certificate,
                 ::SSL_CTX_get0_certificate(ctx.get()));  // a peer checks it
  if (::SSL_CTX_use_PrivateKey_file(context().get(), tls.key.c_str(),
                                    SSL_FILETYPE_PEM) != 1)
    bad_file("key", tls.key,
             "not a PEM private key, or encrypted without the right "
             "passphrase (" +
                 openssl_errors() + ")");
  if (::SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(),
                                    SSL_FILETYPE_PEM) != 1 ||
      ::SSL_CTX_check_private_key(ctx.get()) != 1)
    bad_file("key", tls.key,
             "does not match the certificate " + tls.certificate + " (" +
                 openssl_errors() + ")");
  if (::SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(),
                                      nullptr) != 1)
    bad_file("CA file", tls.ca_file,
             "no PEM CA certificate in it (" + openssl_errors() + ")");
}

void configure_tls(caf::actor_system_config& config, const tls_options& tls) {
  // CAF's own fields for them, in libcaf_core's configuration: they travel
  // with a system lent by a host (configure_remoting()) as with ours. CAF's
  // OpenSSL module, which would read them, is not loaded.
  config.openssl_certificate = tls.certificate;
  config.openssl_key = tls.key;
  config.openssl_cafile = tls.ca_file;
  config.openssl_passphrase = tls.passphrase;
}

tls_options tls_files(caf::actor_system& system) {
  const auto& config = system.config();
  return {config.openssl_certificate, config.openssl_key, config.openssl_cafile,
          config.openssl_passphrase};
}

bool tls_enabled(caf::actor_system& system) {
  return !system.config().openssl_cafile.empty();  // a CA file is required
}

}  // namespace vitrine::detail
