// watch_command: `vitrine watch --node HOST:PORT [--node ...]`, a live table
// of the processes of several remote nodes (docs/distribution.md). Run by
// vitrine-run (it links CAF's middleman), from remote_main().
//
//   vitrine watch --node A [--node B ...] [--interval MS] [--count N]
//                 [--json] [--heartbeat-ms N] [--timeout-ms N]
//                 [--tls-cert F --tls-key F --tls-ca F]
//
// One controller runtime mirrors every node (one node_handle each; connect
// is asynchronous, so an unreachable node never holds up the others). Each
// refresh reads the mirrors locally (lock-free, no request to any node) and
// prints watch_view's block: redrawn in place on a terminal, blocks apart
// on a pipe, or one JSON line each. Ends on SIGINT, SIGTERM or SIGQUIT
// (exit 0) or after --count refreshes.
//
// Threads: main thread, before any other starts (it blocks the stop
// signals, which CAF's threads then inherit). Costs: an actor system with
// the middleman; per refresh, one read per mirrored process and the text.
#pragma once

#include <string>
#include <vector>

#include "remote_flags.hpp"

namespace CLI {
class App;
}

namespace vitrine::cli {

struct watch_options {
  std::vector<std::string> nodes;  ///< HOST:PORT each, checked, no repeat
  int interval_ms = 1000;          ///< between refreshes
  int count = 0;                   ///< refreshes, then exit; 0: until a signal
  bool json = false;               ///< one JSON line per refresh
  remote_flags remote;             ///< timing and TLS (endpoint unused)
};

/// Adds `watch` to `app`, its options stored in `options`. Usage errors
/// (no --node, a malformed or repeated one, --interval 0) are CLI11 parse
/// errors: the caller prints them and returns 2.
CLI::App* add_watch_subcommand(CLI::App& app, watch_options& options);

/// Runs it; 0 after a stop signal, --count refreshes or when the reader of
/// stdout went away (EPIPE); 1 when stdout cannot be written otherwise.
int watch_command(const watch_options& options);

}  // namespace vitrine::cli
