// Empties OpenSSL's error queue before each TLS call (openssl_error_queue.hpp).
#include "openssl_error_queue.hpp"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>

namespace {

/// libssl's own `name`, the definition after this one in lookup order.
template <class Function>
Function* next_definition(const char* name) noexcept {
  void* found = ::dlsym(RTLD_NEXT, name);
  if (found == nullptr) {
    std::fprintf(stderr, "vitrine: libssl's %s not found (%s)\n", name,
                 ::dlerror());
    std::abort();
  }
  return reinterpret_cast<Function*>(found);
}

}  // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buffer, int size) {
  static auto* const real = next_definition<int(SSL*, void*, int)>("SSL_read");
  ::ERR_clear_error();
  return real(ssl, buffer, size);
}

int SSL_write(SSL* ssl, const void* buffer, int size) {
  static auto* const real =
      next_definition<int(SSL*, const void*, int)>("SSL_write");
  ::ERR_clear_error();
  return real(ssl, buffer, size);
}

int SSL_connect(SSL* ssl) {
  static auto* const real = next_definition<int(SSL*)>("SSL_connect");
  ::ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto* const real = next_definition<int(SSL*)>("SSL_accept");
  ::ERR_clear_error();
  return real(ssl);
}

}  // extern "C"

namespace vitrine::detail {

void keep_openssl_error_queue_clear() noexcept {}

}  // namespace vitrine::detail
