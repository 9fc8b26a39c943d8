// test_pki: throwaway certificates for the TLS tests, made with the
// `openssl` command (scripts/setup.sh installs it) in a test's temporary
// directory: a CA, a node and a controller certificate it signed, and a
// "stranger": a certificate and key signed by ANOTHER CA, an expired one
// the CA signed, and the node's key
// encrypted with a passphrase. Any thread; costs
// a few openssl runs (EC P-256 keys: ~50 ms in all).
#pragma once

#include <string>

#include "support/files.hpp"

namespace vitrine::test {

struct test_pki {
  /// Writes everything under dir; throws std::runtime_error (with
  /// openssl's output) if a command fails.
  explicit test_pki(const temp_dir& dir);

  std::string ca;        ///< the CA both sides trust
  std::string other_ca;  ///< the CA that signed the stranger
  std::string node_cert, node_key;
  std::string controller_cert, controller_key;
  std::string stranger_cert, stranger_key;  ///< signed by another CA
  std::string expired_cert, expired_key;    ///< the CA's, expired yesterday
  /// node_key encrypted (AES-256) with `passphrase`.
  std::string node_key_encrypted;
  std::string passphrase = "vitrine-test-passphrase";
};

}  // namespace vitrine::test
