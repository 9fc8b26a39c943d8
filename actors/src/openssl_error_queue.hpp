// openssl_error_queue: every TLS read, write and handshake in this process
// starts with an empty OpenSSL error queue, as OpenSSL asks of its callers
// (SSL_get_error(3): "the current thread's error queue must be empty before
// the TLS/SSL I/O operation is attempted"). Internal to the actors/ library.
//
// Why: CAF 0.17.6's TLS session (libcaf_openssl) never empties the queue
// after a failed call: its only ERR_get_error() loop sits inside a log
// statement, which Debian's build (CAF_LOG_LEVEL QUIET) compiles out. The
// queue is per thread, and every TLS connection of a runtime lives on the
// middleman's one thread, so a handshake that failed there (a client whose
// certificate the CA did not sign, a controller's attempt at a node
// without TLS) left its error behind, and the next session on that thread
// that found nothing to read took the error for its own and closed: a
// node dropped its good controllers, and a controller its good nodes, at
// every refused handshake (found by a stranger, 2026-12-02).
//
// How: openssl_error_queue.cpp defines SSL_read, SSL_write, SSL_connect
// and SSL_accept. The program (or the shared library vitrine is part of)
// comes before libssl in the dynamic linker's lookup order, so
// libcaf_openssl's calls bind to them; each empties the calling thread's
// queue, then calls libssl's own (dlsym(RTLD_NEXT)). Anything else in the
// process that calls them gets the same, which OpenSSL asks for anyway.
//
// Threads: any. Cost: one ERR_clear_error() (a thread-local lookup) per
// call.
#pragma once

namespace vitrine::detail {

/// Does nothing: calling it (configure_tls() does) keeps the definitions
/// above in every program that links vitrine statically, where the
/// linker takes only the objects something refers to.
void keep_openssl_error_queue_clear() noexcept;

}  // namespace vitrine::detail
