// remote_flags: the flags every remote command shares (node, status --node,
// ctl --node, watch): heartbeat and connection timeout, and TLS with client
// certificates, turned into the runtime_options of the command's runtime;
// and the row they print for a mirrored process.
//
// Threads: main thread, while the command line is parsed. Costs: none worth
// counting (CLI11 options, one struct copy).
#pragma once

#include <cstdint>
#include <string>

#include "status.hpp"
#include "vitrine/runtime.hpp"

namespace CLI {
class App;
class Option;
class Validator;
}  // namespace CLI

namespace vitrine::cli {

struct remote_flags {
  std::string endpoint;  ///< HOST:PORT, for the commands with one node
  int heartbeat_ms = 500;
  int timeout_ms = 2000;
  std::string tls_cert, tls_key, tls_ca;  ///< all three or none
};

/// CLI11 check of a HOST:PORT option (remote_endpoint::parse()); with
/// `any_port`, PORT 0 too (a node's --listen: any free port). Malformed:
/// a usage error (exit 2) naming the text.
CLI::Validator endpoint_check(bool any_port = false);
/// CLI11 transform of a whole number from `min` to `max`: digits only
/// ("'abc' is not a whole number from 1 to 10"), leading zeros dropped
/// (CLI11 reads "010" as octal 8).
CLI::Validator whole_number_in(std::uint64_t min, std::uint64_t max);

/// --heartbeat-ms and --timeout-ms, each 10 ms to 10 minutes.
void add_timing(CLI::App* cmd, remote_flags& f);

/// --tls-cert, --tls-key, --tls-ca: this side's certificate and key, and
/// the CA a peer's certificate must chain to. Only all three together
/// (both sides authenticate); returns the --tls-cert option. `whose` names
/// the certificate in the help ("the node's").
CLI::Option* add_tls(CLI::App* cmd, remote_flags& f, const char* whose);

/// A runtime with remoting on, the flags' heartbeat and timeout, and TLS
/// when the flags name certificates.
runtime_options options_for(const remote_flags& f);

/// For the commands that keep connections open (`node`, `watch`): a
/// warning when --timeout-ms is not above --heartbeat-ms, "" otherwise. A
/// peer that sends a heartbeat no more often than this side's timeout is
/// dropped while idle and reconnected, over and over (an outside tester's
/// `watch --timeout-ms 10`: 29 reconnections in 2 s). Only a warning: the
/// peer's heartbeat, which this side cannot see, may be shorter.
std::string timing_warning(const remote_flags& f);

/// The status row of `process`, mirrored from `node`: its mirrored state
/// with the node's own version (the number the node's `status` shows, the
/// same in every controller), not the mirror's publication counter.
status_row remote_row(const node_handle& node, const process_handle& process,
                      const clock_pair& now);

}  // namespace vitrine::cli
