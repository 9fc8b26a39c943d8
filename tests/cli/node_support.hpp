// Helpers for the tests that drive `vitrine node` (node_*_test.cpp).
#pragma once

#include <sys/types.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "cli_driver.hpp"

namespace vitrine::test {

/// The port `vitrine node --listen HOST:0` printed.
inline std::string served_port(const std::string& output_path, pid_t node,
                               const std::string& host = "127.0.0.1") {
  const auto prefix = "serving on " + host + ":";
  REQUIRE(vitrine::test::wait_for_text(output_path, prefix,
                                       std::chrono::seconds{20}, node));
  const auto text = vitrine::test::read_file(output_path);
  const auto at = text.find(prefix) + prefix.size();
  return text.substr(at, text.find('\n', at) - at);
}

/// --tls-cert C --tls-key K --tls-ca CA.
inline std::vector<std::string> tls_flags(const std::string& cert,
                                          const std::string& key,
                                          const std::string& ca) {
  return {"--tls-cert", cert, "--tls-key", key, "--tls-ca", ca};
}

}  // namespace vitrine::test
