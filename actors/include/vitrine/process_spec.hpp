// process_spec and supervisor_spec: what a host application asks vitrine to
// run, and how to keep it running.
//
// Plain values, built on any thread and handed to runtime::supervise(),
// which validates them first (validate() below) and refuses a bad spec as a
// whole: nothing is started half-way. No CAF here.
//
// Threads: any (plain values; validate() only reads the file system).
// Cost: validate() stats the program (one probe per PATH entry) and reads
// its first 4 bytes, stats the cwd and the log directories, and allocates
// one string per problem.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vitrine/core/backoff.hpp"
#include "vitrine/os/launch.hpp"

namespace vitrine {

/// When a process that exited is started again (OTP's terms).
enum class restart_policy : std::uint8_t {
  permanent,  ///< always
  transient,  ///< only after an unexpected exit (a signal, or a code not
              ///< in expected_exit_codes)
  temporary,  ///< never
};

/// A per-process restart limit, as systemd's StartLimitBurst and
/// StartLimitIntervalSec: more than `burst` restarts within `interval` and
/// this process alone becomes `failed` (its supervisor is told no restart
/// is wanted, so nothing is counted toward the supervisor's intensity).
/// Only restarts after exits count; a start or restart command from a
/// handle begins a fresh window. interval = 0 disables the limit; else
/// burst is 1..1000000 (validate()). interval: 0 to 24 hours.
struct restart_limit_policy {
  unsigned burst = 5;
  std::chrono::milliseconds interval{10'000};

  bool enabled() const noexcept { return interval.count() > 0; }
  bool operator==(const restart_limit_policy&) const = default;
};

/// Captured output (os::stdio_target::kind::capture) goes to `path` with
/// size-based rotation.
struct log_rotation {
  /// 0 = never rotate; else at least os::min_rotation_bytes (4096).
  std::uint64_t max_bytes = 10u << 20;
  unsigned backups = 3;  ///< rotated files kept, 0..1000 (validate())

  bool operator==(const log_rotation&) const = default;
};

struct process_spec {
  using duration = std::chrono::milliseconds;

  std::string name;  ///< unique within a runtime; [A-Za-z0-9_.:@-]; not "root"
  /// argv, env, cwd, umask, rlimits, stdio... but not cgroup and
  /// cgroup_killed, which the runtime sets (validate() refuses them).
  os::launch_options launch;
  log_rotation logs;

  restart_policy restart = restart_policy::permanent;
  std::vector<int> expected_exit_codes{0};
  /// Its durations (min, max, reset_after): 0 to 24 hours (validate()).
  core::backoff_policy backoff;

  /// Uptime after which a starting process counts as running (unless it
  /// signals readiness on launch.notify_fd first). 0 = running at once,
  /// with a notify fd too (its line is then not waited for). 0 to 24
  /// hours (validate()).
  duration startsecs{1000};
  /// Exits before startsecs tolerated in a row before the process fails
  /// (0..1000: validate() refuses more).
  unsigned startretries = 3;
  /// Restarts after exits tolerated per interval before the process fails.
  restart_limit_policy restart_limit;

  /// Sent to the whole process group, then SIGCONT (a group stopped by
  /// SIGSTOP acts on it only once continued). validate() refuses SIGSTOP,
  /// which never ends a program.
  int stop_signal = SIGTERM;
  /// Then SIGKILL to the group. 1 ms to 24 hours (validate()).
  duration stop_timeout{10'000};
  /// False keeps the process out of its supervisor's first start (or, when
  /// added to a running supervisor, out of that start): it starts on
  /// command, and with every later start of its supervisor (a start
  /// command, a restart by the strategy or by escalation).
  bool autostart = true;

  /// Every field equal (how `vitrine reload` tells a changed program).
  bool operator==(const process_spec&) const = default;
};

enum class restart_strategy : std::uint8_t {
  one_for_one,   ///< restart only the child that exited
  one_for_all,   ///< stop all others (reverse order), restart all (in order)
  rest_for_one,  ///< stop the children after it, restart it and them
};

struct supervisor_spec;

/// A supervisor's child: a process or a nested supervisor.
using child_spec = std::variant<process_spec, supervisor_spec>;

struct supervisor_spec {
  using duration = std::chrono::milliseconds;

  std::string name;
  restart_strategy strategy = restart_strategy::one_for_one;
  /// More than `intensity` restarts within `period` fail the supervisor
  /// (intensity 0: the first restart wanted fails it). A restart counts
  /// once per event, whatever the number of children it restarts.
  /// 0..1000000 (validate()).
  unsigned intensity = 3;
  duration period{5000};  ///< 1 ms to 24 hours (validate())
  /// Whether its parent restarts it once it failed (its intensity
  /// exceeded). As in OTP, where a supervisor that exceeds its intensity
  /// ends with reason `shutdown`, only `permanent` is restarted: `transient`
  /// treats that end as normal and, like `temporary`, is not restarted and
  /// not counted toward the parent's intensity. Ignored for the root.
  restart_policy restart = restart_policy::permanent;
  std::vector<child_spec> children;  ///< started in order, stopped reversed
  /// Start all children at once instead of one after another (independent
  /// children only: requires one_for_one). Stopping stays in reverse order.
  bool parallel_start = false;

  /// Every field equal, children included (recursively).
  bool operator==(const supervisor_spec&) const = default;
};

/// One problem in a spec: the field (dotted path, e.g.
/// "web.launch.argv[0]") and what is wrong with it.
struct spec_problem {
  std::string field;
  std::string message;
};

/// Every problem found in `spec` (empty if it is valid). Checks names, argv
/// and the program (exists, is a regular executable file, begins with `#!`
/// or is ELF unless binfmt_misc has handlers), cwd, durations, signals,
/// rlimits, log settings.
std::vector<spec_problem> validate(const process_spec& spec);
std::vector<spec_problem> validate(const supervisor_spec& spec);
/// The checks validate() makes of a supervisor's `intensity` and `period`
/// (the fields named after `supervisor`, as validate() names them).
std::vector<spec_problem> validate_intensity(std::string_view supervisor,
                                             unsigned intensity,
                                             supervisor_spec::duration period);

/// What validate() puts before the fields of a spec named `name`: "web."
/// ("" for an unnamed spec). Bytes that are not printable ASCII are written
/// as \\xNN, and a name past the 64-byte limit is cut to it and marked
/// "....". For callers that map problems back to their own input.
std::string spec_field_prefix(std::string_view name);

/// Thrown by runtime::supervise() for an invalid spec; what() lists every
/// problem, problems() gives them one by one.
class spec_error : public std::invalid_argument {
 public:
  explicit spec_error(std::vector<spec_problem> problems);
  const std::vector<spec_problem>& problems() const noexcept {
    return problems_;
  }

 private:
  std::vector<spec_problem> problems_;
};

std::string_view to_string(restart_policy) noexcept;
std::string_view to_string(restart_strategy) noexcept;

}  // namespace vitrine
