#include "support/test_pki.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace vitrine::test {
namespace {

/// Runs `openssl args` with its output appended to `log`.
void openssl(const std::string& args, const std::string& log) {
  const std::string command =
      "openssl " + args + " >>'" + log + "' 2>&1 </dev/null";
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("test_pki: `" + command + "` failed:\n" +
                             read_file(log));
}

const char* const new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";

/// A self-signed CA: dir/name.pem and dir/name.key.
void make_ca(const temp_dir& dir, const std::string& name,
             const std::string& log) {
  openssl("req -x509 " + std::string{new_key} + " -nodes -days 2 -subj /CN=" +
              name + " -keyout '" + dir.file(name + ".key") + "' -out '" +
              dir.file(name + ".pem") + "'",
          log);
}

/// A leaf certificate signed by CA `ca`: dir/name.pem and dir/name.key,
/// valid for `days` from now (-1: it expired a day ago).
void make_leaf(const temp_dir& dir, const std::string& name,
               const std::string& ca, const std::string& log, int days = 2) {
  const auto csr = dir.file(name + ".csr");
  openssl("req " + std::string{new_key} + " -nodes -subj /CN=" + name +
              " -keyout '" + dir.file(name + ".key") + "' -out '" + csr + "'",
          log);
  openssl("x509 -req -days " + std::to_string(days) + " -in '" + csr +
              "' -CA '" + dir.file(ca + ".pem") + "' -CAkey '" +
              dir.file(ca + ".key") + "' -CAcreateserial -out '" +
              dir.file(name + ".pem") + "'",
          log);
}

}  // namespace

test_pki::test_pki(const temp_dir& dir) {
  const auto log = dir.file("openssl.log");
  make_ca(dir, "vitrine-ca", log);
  make_ca(dir, "other-ca", log);
  make_leaf(dir, "node", "vitrine-ca", log);
  make_leaf(dir, "controller", "vitrine-ca", log);
  make_leaf(dir, "stranger", "other-ca", log);
  make_leaf(dir, "expired", "vitrine-ca", log, -1);
  ca = dir.file("vitrine-ca.pem");
  other_ca = dir.file("other-ca.pem");
  node_cert = dir.file("node.pem");
  node_key = dir.file("node.key");
  controller_cert = dir.file("controller.pem");
  controller_key = dir.file("controller.key");
  stranger_cert = dir.file("stranger.pem");
  stranger_key = dir.file("stranger.key");
  expired_cert = dir.file("expired.pem");
  expired_key = dir.file("expired.key");
  node_key_encrypted = dir.file("node.encrypted.key");
  openssl("pkey -in '" + node_key + "' -aes256 -passout pass:" + passphrase +
              " -out '" + node_key_encrypted + "'",
          log);
}

}  // namespace vitrine::test
