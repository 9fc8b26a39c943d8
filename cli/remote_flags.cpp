// The flags the remote commands share (remote_flags.hpp).
#include "remote_flags.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "runner_subcommands.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {

CLI::Validator endpoint_check(bool any_port) {
  return CLI::Validator(
      [any_port](std::string& text) -> std::string {
        std::string_view checked = text;
        std::string with_port;
        if (any_port && checked.ends_with(":0")) {
          with_port = text.substr(0, text.size() - 2) + ":1";
          checked = with_port;
        }
        if (remote_endpoint::parse(checked)) return {};
        // `ctl --node --help` hands the flag over as the endpoint.
        if (text.starts_with('-'))
          return "needs a HOST:PORT before the flag '" + terminal_safe(text) +
                 "'";
        return "not HOST:PORT: '" + terminal_safe(text) + "'";
      },
      "HOST:PORT");
}

CLI::Validator whole_number_in(std::uint64_t min, std::uint64_t max) {
  return CLI::Validator{
      [min, max](std::string& text) -> std::string {
        const auto problem = [&] {
          return "'" + terminal_safe(text) + "' is not a whole number from " +
                 std::to_string(min) + " to " + std::to_string(max);
        };
        const bool digits =
            !text.empty() &&
            std::all_of(text.begin(), text.end(),
                        [](unsigned char c) { return c >= '0' && c <= '9'; });
        if (!digits) return problem();
        const auto first = text.find_first_not_of('0');
        std::string significant =
            first == std::string::npos ? "0" : text.substr(first);
        // Past 19 digits it is past every bound here (and past uint64).
        if (significant.size() > 19) return problem();
        const std::uint64_t value = std::stoull(significant);
        if (value < min || value > max) return problem();
        // CLI11 reads a leading 0 as octal ("010" as 8): the digits alone.
        text = std::move(significant);
        return {};
      },
      ""};
}

void add_timing(CLI::App* cmd, remote_flags& f) {
  cmd->add_option("--heartbeat-ms", f.heartbeat_ms,
                  "heartbeat interval (both sides should agree)")
      ->capture_default_str()
      ->transform(whole_number_in(10, 600'000));
  cmd->add_option("--timeout-ms", f.timeout_ms,
                  "connection timeout: a peer silent that long is lost")
      ->capture_default_str()
      ->transform(whole_number_in(10, 600'000));
}

CLI::Option* add_tls(CLI::App* cmd, remote_flags& f, const char* whose) {
  auto* cert = cmd->add_option("--tls-cert", f.tls_cert,
                               std::string{"TLS: "} + whose +
                                   " certificate (PEM; with --tls-key and "
                                   "--tls-ca)");
  auto* key = cmd->add_option("--tls-key", f.tls_key,
                              "TLS: its private key (PEM, not encrypted)");
  auto* ca = cmd->add_option(
      "--tls-ca", f.tls_ca, "TLS: the CA the peer's certificate must chain to");
  // An empty path (an unset shell variable) is refused: read as "no
  // certificate", it turned TLS off without a word.
  for (auto* path : {cert, key, ca}) path->check(non_empty_path);
  cert->needs(key)->needs(ca);
  key->needs(cert)->needs(ca);
  ca->needs(cert)->needs(key);
  return cert;
}

runtime_options options_for(const remote_flags& f) {
  runtime_options o;
  o.remoting.enabled = true;
  o.remoting.heartbeat_interval = std::chrono::milliseconds{f.heartbeat_ms};
  o.remoting.connection_timeout = std::chrono::milliseconds{f.timeout_ms};
  if (!f.tls_cert.empty())
    o.remoting.tls = tls_options{f.tls_cert, f.tls_key, f.tls_ca, {}};
  return o;
}

std::string timing_warning(const remote_flags& f) {
  if (f.timeout_ms > f.heartbeat_ms) return {};
  return "warning: --timeout-ms " + std::to_string(f.timeout_ms) +
         " is not above --heartbeat-ms " + std::to_string(f.heartbeat_ms) +
         ": a peer with this heartbeat is dropped while idle and reconnected "
         "over and over; give both sides the same --heartbeat-ms and a "
         "--timeout-ms of a few heartbeats (docs/distribution.md)";
}

status_row remote_row(const node_handle& node, const process_handle& process,
                      const clock_pair& now) {
  status_row row = make_row(*process.read(), now);
  row.version = node.node_version(process.name());
  return row;
}

}  // namespace vitrine::cli
