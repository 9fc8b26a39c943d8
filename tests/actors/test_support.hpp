// Helpers shared by the supervision tests: deadlines, spec builders, temp
// dirs, reading published states and history, and the leak checker every
// test case uses. Test-only; not part of vitrine_runtime.
//
// Timing rule for these tests: they run real processes on a loaded 2-core
// machine, so they wait on *published* states with generous deadlines
// (`patience`) and never sleep-and-hope. Only lower bounds of durations are
// asserted tightly (a timer never fires early); upper bounds are loose.
#pragma once

#include <sys/types.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "vitrine/core/process_state.hpp"
#include "vitrine/core/supervisor_state.hpp"
#include "vitrine/core/transition_history.hpp"
#include "vitrine/process_handle.hpp"
#include "vitrine/process_spec.hpp"
#include "vitrine/runtime.hpp"
#include "vitrine/supervisor_handle.hpp"

#include "support/files.hpp"

namespace vitrine::test {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

/// How long a test waits for a published state before giving up.
inline constexpr ms patience{20'000};

inline clock::time_point in(ms d) {
  return clock::now() + d;
}

/// Milliseconds between two time points, as a double (for INFO and ratios).
inline double millis(clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

/// `/bin/sh -c script`, running at once (startsecs 0), quick backoff without
/// jitter, a short stop timeout, no per-process restart limit: the defaults
/// that keep the suite fast.
process_spec sh(std::string name, std::string script);

/// A process's name (/proc/PID/comm), "" once it is gone.
std::string comm_of(pid_t pid);

/// "pid 12 ppid 1 pgrp 12 (sleep), ..." for the processes with `marker`
/// left: who escaped, and where to.
std::string describe_leftovers(const std::string& marker);

/// Polls pred every 2 ms until it holds or `limit` passes. For states that
/// have no futex to wait on (supervisor counters, files, /proc).
bool eventually(const std::function<bool()>& pred, ms limit = patience);

/// Waits for `status`; on timeout records the current state with
/// UNSCOPED_INFO so the failing assertion shows it.
bool reaches(const process_handle& h, core::process_status status,
             ms limit = patience);
bool reaches(const supervisor_handle& h, core::supervisor_status status,
             ms limit = patience);
/// Waits until pred(state) holds (same reporting as reaches()).
bool reaches_when(const process_handle& h,
                  const std::function<bool(const core::process_state&)>& pred,
                  ms limit = patience);

/// "running pid 42 restarts 1 last exit 3" and the like.
std::string describe(const core::process_state& s);
std::string describe(const core::supervisor_state& s);

/// A copy of the published history, oldest first.
std::vector<core::transition> history_of(const process_handle& h);
/// Every distinct pid the history shows, in order of appearance.
std::vector<pid_t> pids_in_history(const process_handle& h);
/// Delays between each exit (a `backoff` transition) and the next spawn (the
/// next `starting`/`running` transition), oldest first.
std::vector<clock::duration> restart_gaps(const process_handle& h);

/// True when `pid` is gone: no such process, or only a zombie left behind
/// by a process that is not ours to reap.
bool gone(pid_t pid);
/// Waits (polling /proc) until every pid in `pids` is gone.
bool all_gone(const std::vector<pid_t>& pids, ms limit = patience);

/// Reads a pid written by a script into `path` (waits for the file).
pid_t read_pid_file(const std::string& path);

/// RAII leak check used by every test case: constructed before the runtime,
/// destroyed after it. On destruction it CHECKs that this process has no
/// child left (zombie or running) and exactly as many open fds as at
/// construction.
class leak_checker {
 public:
  leak_checker();
  ~leak_checker();
  leak_checker(const leak_checker&) = delete;
  leak_checker& operator=(const leak_checker&) = delete;

 private:
  std::size_t fds_;
  std::vector<pid_t> before_;
};

/// The options of runtime_fixture: a root that never gives up (more than a
/// million restarts in 1 s), since these tests crash-loop children under it
/// on purpose. The conformance suite (otp_*_test.cpp) builds runtimes with
/// the default root intensity, or with 0, where it tests them.
inline runtime_options patient_root() {
  runtime_options o;
  o.root_intensity = 1'000'000;
  o.root_period = 1000ms;
  return o;
}

/// The usual fixture: a leak checker around a runtime that owns its actor
/// system. Members are destroyed in reverse order, so the runtime (and every
/// child it supervises) is gone before the checker looks.
struct runtime_fixture {
  leak_checker leaks;
  runtime rt{patient_root()};
};

}  // namespace vitrine::test

namespace Catch {
template <>
struct StringMaker<vitrine::core::process_status> {
  static std::string convert(vitrine::core::process_status s) {
    return std::string{vitrine::core::to_string(s)};
  }
};
template <>
struct StringMaker<vitrine::core::supervisor_status> {
  static std::string convert(vitrine::core::supervisor_status s) {
    return std::string{vitrine::core::to_string(s)};
  }
};
template <>
struct StringMaker<vitrine::core::termination> {
  static std::string convert(const vitrine::core::termination& t) {
    return vitrine::core::describe(t);
  }
};
}  // namespace Catch
