// remote_tls: the remote layer's TLS files: their check, and where a
// system keeps them (the openssl_* fields of CAF's configuration; CAF's
// OpenSSL module is never loaded: the TLS ends are guard_tls.hpp's and
// tls_relay.hpp's). Internal to the actors/ library. check_tls_files() and
// configure_tls() run before an actor system is built (any thread); the
// others on a built system from any thread. Costs: the check parses the
// three PEM files once (a few milliseconds); the rest is a lookup.
#pragma once

#include <cstdint>
#include <string>

namespace caf {
class actor_system;
class actor_system_config;
}  // namespace caf

namespace vitrine {
struct tls_options;
}

namespace vitrine::detail {

/// OpenSSL's queued errors (this thread's), oldest first, "; "-joined
/// ("not usable" when none), and empties the queue.
std::string openssl_errors();

/// An OpenSSL passphrase callback (SSL_CTX_set_default_passwd_cb) whose
/// user data is a const std::string*: that passphrase, never a terminal
/// prompt (OpenSSL's default callback would read one from the tty); an
/// empty one fails an encrypted key.
int passphrase_callback(char* buf, int size, int rwflag, void* user);

/// The files `system` was configured with (configure_tls()).
tls_options tls_files(caf::actor_system& system);

/// Loads every file as CAF will (certificate chain, key with the
/// passphrase, CA file) and checks that the key matches the certificate;
/// throws std::invalid_argument naming the first bad file and why. CAF
/// itself would fail later, on its multiplexer thread, by terminating.
void check_tls_files(const tls_options& tls);

/// Keeps the files in `config` (check_tls_files() them first): every
/// connection of the system built from it is then TLS, and every peer
/// must present a certificate the CA signed.
void configure_tls(caf::actor_system_config& config, const tls_options& tls);

/// True when `system` was configured with TLS (configure_tls()).
bool tls_enabled(caf::actor_system& system);

}  // namespace vitrine::detail
