// node_serving: what `vitrine node` adds to `vitrine run`: remoting on in
// the runtime, and the address its tree is served on (docs/cli.md, "Remote
// nodes"). run_command() binds it before any program starts.
//
// Threads: filled on the main thread while the command line is parsed.
// Costs: none (two option structs).
#pragma once

#include "vitrine/remote.hpp"

namespace vitrine::cli {

struct node_serving {
  remoting_options remoting;  ///< enabled, heartbeat, timeout, TLS
  serve_options serve;        ///< bind address, port, insecure
};

}  // namespace vitrine::cli
