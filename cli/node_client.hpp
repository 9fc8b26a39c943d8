// node_client: the one-shot controller behind `status --node` and
// `ctl --node`: a runtime whose connection waits out --timeout-ms, one
// connection to the node, its first snapshot, and its programs by name;
// and `ctl --node` itself (node_ctl.cpp).
//
// Threads: main thread (the command's). Costs: an actor system with the
// middleman, one connection and one snapshot per invocation.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "remote_flags.hpp"
#include "vitrine/remote.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::cli {

/// The runtime of a client command (status --node, ctl --node, watch),
/// ended in the background. CAF 0.17.6's TLS session spins, and its
/// middleman does not stop, while a handshake waits on a peer that no
/// longer answers (a frozen TLS node): ~runtime would last as long as the
/// node stays frozen. The destructor keeps the runtime for
/// exit_code_after_teardown(), which ends it after the command's last
/// words, and exits without waiting past a limit. Main thread.
class client_runtime {
 public:
  explicit client_runtime(const runtime_options& options);
  ~client_runtime();
  client_runtime(const client_runtime&) = delete;
  client_runtime& operator=(const client_runtime&) = delete;
  runtime& operator*() noexcept { return *rt_; }
  runtime* operator->() noexcept { return rt_.get(); }

 private:
  std::unique_ptr<runtime> rt_;
};

/// Flushes stdout and stderr, ends the runtime a client_runtime kept, and
/// returns `code`; if the runtime has not ended within teardown_limit, ends
/// the process with `code` at once (std::_Exit: a client runtime
/// supervises no process and owns no file, so nothing is left behind).
/// Call last, with the command's exit code; main thread.
int exit_code_after_teardown(int code);
inline constexpr std::chrono::milliseconds teardown_limit{500};

/// HOST:PORT parsed; throws std::runtime_error naming `text` otherwise.
remote_endpoint endpoint_or_throw(const std::string& text);

/// A one-shot controller's runtime: CAF must not drop the connection before
/// its handshake ends (its connection check runs each heartbeat: a node
/// stopped for a second would never be reached), so --timeout-ms alone
/// bounds the wait; the mirror still marks a node silent that long lost.
runtime_options one_shot_options(const remote_flags& f);

/// Connects and waits for the first snapshot; throws std::runtime_error
/// ("node HOST:PORT unreachable: WHY") when the node is not reached within
/// --timeout-ms, or at once when the attempt fails.
node_handle connect_or_throw(runtime& rt, const remote_flags& f);

/// The handles of `names` on the node, a name given twice once (as the
/// local commands count it); nullopt, having printed "unknown name 'x' on
/// HOST:PORT" and `consequence`, if one is not there.
std::optional<std::vector<process_handle>> find_programs(
    const node_handle& node, const std::vector<std::string>& names,
    const std::string& endpoint, std::string_view consequence);

/// `ctl --node VERB NAME...`: every name is resolved first (an unknown one:
/// nothing is done, as in the local ctl); then each command is sent and
/// its effect awaited, all within `timeout` (exit_ctl_timeout past it).
/// VERB signal takes SIG first. The caller has checked VERB and that
/// there is a NAME (after SIG). The exit status.
int ctl_command(const remote_flags& f, const std::string& verb,
                std::vector<std::string> names,
                std::chrono::milliseconds timeout, bool no_wait);

}  // namespace vitrine::cli
