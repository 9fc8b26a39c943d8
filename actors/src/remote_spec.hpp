// remote_spec: a process_spec as it travels from a controller to a node
// (node_handle::supervise), the supervise request the node server serves,
// and the gate through which the server reaches its runtime. Internal to
// the actors/ library.
//
// Protocol (remote_wire.hpp has the rest):
//   controller -> server  (r_sup, wire_spec)
//       -> (fields, messages, failure): both lists empty and failure empty
//          when the node supervises it; else the spec problems (one field
//          and one message per problem) or why the node refused it.
//
// The node treats a wire_spec as untrusted input: any authenticated
// controller can send one. spec_from_wire() bounds every count and size
// and every enum byte before building a process_spec, which the node's
// runtime::supervise() then validates as a local spec.
#pragma once

#include <caf/all.hpp>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "vitrine/process_spec.hpp"

namespace vitrine {
class runtime;
}

namespace vitrine::detail {

using r_sup_atom = caf::atom_constant<caf::atom("vr_sup")>;

/// os::stdio_target on the wire.
struct wire_stdio {
  std::uint8_t mode = 0;
  std::string path;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_stdio& x) {
  return f(caf::meta::type_name("vitrine::wire_stdio"), x.mode, x.path);
}

/// Every process_spec field, plain: durations in milliseconds, enums as
/// bytes, env and rlimits as parallel lists.
struct wire_spec {
  std::string name;
  std::vector<std::string> argv;
  bool inherit_env = true;
  std::vector<std::string> env_keys;
  std::vector<std::string> env_values;
  std::string cwd;
  bool has_umask = false;
  std::uint32_t umask = 0;
  std::vector<std::int32_t> rlimit_resources;
  std::vector<std::uint64_t> rlimit_soft;
  std::vector<std::uint64_t> rlimit_hard;
  wire_stdio stdin_target;
  wire_stdio stdout_target;
  wire_stdio stderr_target;
  std::int32_t death_signal = 0;
  std::int32_t notify_fd = -1;
  std::string cgroup;
  std::uint64_t log_max_bytes = 0;
  std::uint32_t log_backups = 0;
  std::uint8_t restart = 0;
  std::vector<std::int32_t> expected_exit_codes;
  std::int64_t backoff_min_ms = 0;
  std::int64_t backoff_max_ms = 0;
  double backoff_multiplier = 0;
  double backoff_jitter = 0;
  std::int64_t backoff_reset_after_ms = 0;
  std::int64_t startsecs_ms = 0;
  std::uint32_t startretries = 0;
  std::uint32_t restart_limit_burst = 0;
  std::int64_t restart_limit_interval_ms = 0;
  std::int32_t stop_signal = 0;
  std::int64_t stop_timeout_ms = 0;
  bool autostart = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_spec& x) {
  return f(caf::meta::type_name("vitrine::wire_spec"), x.name, x.argv,
           x.inherit_env, x.env_keys, x.env_values, x.cwd, x.has_umask, x.umask,
           x.rlimit_resources, x.rlimit_soft, x.rlimit_hard, x.stdin_target,
           x.stdout_target, x.stderr_target, x.death_signal, x.notify_fd,
           x.cgroup, x.log_max_bytes, x.log_backups, x.restart,
           x.expected_exit_codes, x.backoff_min_ms, x.backoff_max_ms,
           x.backoff_multiplier, x.backoff_jitter, x.backoff_reset_after_ms,
           x.startsecs_ms, x.startretries, x.restart_limit_burst,
           x.restart_limit_interval_ms, x.stop_signal, x.stop_timeout_ms,
           x.autostart);
}

/// The controller's side: `spec` on the wire into `out`, or the fields
/// that cannot cross to another machine (one problem each; `out` is then
/// not to be sent).
std::vector<spec_problem> spec_to_wire(const process_spec& spec,
                                       wire_spec& out);

/// The node's side: the spec `w` describes into `out`, or every problem
/// with it as untrusted input (counts, sizes, enum bytes). A spec that
/// passes still goes through validate() in runtime::supervise().
std::vector<spec_problem> spec_from_wire(const wire_spec& w, process_spec& out);

/// The node server's way to its runtime's supervise(): the runtime opens
/// it when it serves and closes it as it shuts down, before taking its
/// own lock, so no call is inside runtime::supervise() once shutdown()
/// proceeds (a call after that is refused).
class supervise_gate {
 public:
  /// Lets calls through to `rt` (no effect once closed).
  void open(runtime& rt);
  /// Refuses new calls for good and waits for those inside to return.
  void close();
  /// Supervises `spec` through the runtime; an empty string, or why not
  /// (problems go to `problems`).
  std::string supervise(process_spec spec, std::vector<spec_problem>& problems);

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  runtime* runtime_ = nullptr;
  bool closed_ = false;
  unsigned inside_ = 0;
};

/// Serves one (r_sup, wire_spec) request on its own thread (a detached
/// actor: supervise() blocks until the process left `starting`), then
/// quits.
caf::behavior supervise_worker(caf::event_based_actor* self,
                               std::shared_ptr<supervise_gate> gate);

}  // namespace vitrine::detail
