// reload: applies a re-read configuration to a running tree (SIGHUP in
// `vitrine run`; `vitrine reload` through the control socket). See
// docs/cli.md, "Reloading".
//
// The difference is taken between the top supervisor's children in the
// running config and in the new one, matched by name:
//   - a child only in the new file is added (appended, started as the
//     supervisor's rules say: supervisor_handle::add_child);
//   - a child only in the running config is removed (stopped, forgotten);
//   - a child whose spec differs in any field is replaced in place (the old
//     one stopped, the new one started: a new pid); a group (nested
//     supervisor) that differs in anything, its own settings or any
//     program in it, is replaced as a whole;
//   - a child whose spec is equal keeps running (same pid).
// Removals are sent first, then replacements, then additions, so a program
// that moved between the top level and a group finds its name free. The
// top supervisor's own settings as the user wrote them (name, strategy,
// intensity, period_ms, parallel_start) and a reordering of unchanged
// children are not applied: the report says so; restart `vitrine run` to
// apply them. The new file is checked against the running top's name (no
// program or group may take it). An intensity or period derived from the
// programs (docs/cli.md) is not the user's setting: it follows them, and
// is applied to the running top (supervisor_handle::set_intensity) before
// the changes when it is more lenient, after them when it is stricter.
//
// Threads: reload_config() blocks until every change was applied (each
// change waits for the old child to stop and the new one to leave
// `starting`). Any thread but an actor's; calls that share `current` must
// not overlap (the caller serializes them, e.g. with a mutex). Cost: one
// load and check of the file (as `vitrine check`), a comparison of the
// two trees, one supervisor operation per change.
#pragma once

#include <sys/eventfd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "fd_limit.hpp"
#include "vitrine/os/fd_reserve.hpp"
#include "vitrine/os/unique_fd.hpp"
#include "vitrine/supervisor_handle.hpp"

namespace vitrine::cli {

/// The name of a top-level child (a program or a group).
const std::string& child_name(const child_spec& spec);
/// name -> position among `children`.
std::map<std::string, std::size_t> child_positions(
    const std::vector<child_spec>& children);

/// The difference between two top-level child lists, by name.
struct config_diff {
  std::vector<std::string> added, removed, changed, unchanged;
  /// Of those removed or added: the ones that run again inside a group
  /// (or left one), as "p into g" / "p out of g".
  std::vector<std::string> moved;
  /// The top supervisor's settings the user wrote differ (not applied by
  /// a reload); derived ones do not count.
  bool top_settings_changed = false;
  /// The unchanged children are in another relative order (not applied).
  bool reordered = false;
  /// The new file derives another top limit than the running one (applied
  /// by reload_config); the new limit then, and whether it is more lenient.
  bool derived_limit_changed = false;
  bool derived_limit_more_lenient = false;
  unsigned derived_intensity = 0;
  std::chrono::milliseconds derived_period{0};
};

config_diff diff_configs(const config& running, const config& next);

struct reload_report {
  /// The new file's problems, `file:line:col: key: message` each, as
  /// `vitrine check` prints them; when any, nothing was changed.
  std::vector<std::string> problems;
  /// The new file's warnings, formatted the same way; they refuse nothing.
  std::vector<std::string> warnings;
  /// A rejected file's warnings and problems together, in the file's
  /// order (empty otherwise).
  std::vector<std::string> in_file_order;
  config_diff diff;
  /// Changes the supervisor refused (a name still in use elsewhere, the
  /// runtime shutting down): "name: why", one each.
  std::vector<std::string> failures;
  /// "reload: supervisor 'TOP' is stopped (ctl stop): ..." when the tree
  /// the file was applied to is stopped by a command, so what it applied
  /// starts with the tree's next start; the first line of summary().
  std::string stopped_tree;

  bool rejected() const noexcept { return !problems.empty(); }
  bool ok() const noexcept { return problems.empty() && failures.empty(); }
  /// What a reload did, one line each: stopped_tree if any, then
  /// "reload: added N (names)",
  /// "reload: removed N (...)", "reload: changed N (...)",
  /// "reload: unchanged N", then what was not applied and how many
  /// changes failed; for a rejected file one line with the problem count.
  std::vector<std::string> summary() const;
  /// The problems (a rejected file's with its warnings, in the file's
  /// order), then their count, as `vitrine check` prints them, and the
  /// failures; one line each, each ending in '\n' ("" when ok()).
  std::string errors() const;
};

/// The status of the program named so now (nullopt: no such program). A
/// changed or moved program keeps its state: one with `autostart = false`
/// that runs (starting, running or in its backoff) is started again with
/// its new settings, as a changed one with autostart is (its
/// `autostart = false` only keeps it out of the tree's start), and a
/// top-level one that is `stopped` (ctl stop) is not started.
using status_lookup =
    std::function<std::optional<core::process_status>(const std::string& name)>;

/// Loads and checks `file` (relative paths against its directory, as at
/// startup), gives its programs the fd limit `limit` as `vitrine run` did
/// (keep_program_fd_limit), and applies the difference with `current` to
/// `top`, the supervisor that runs `current.tree`. On success `current`
/// describes the running tree (the top's old settings, the applied
/// children in running order). An invalid file changes nothing; so does an
/// empty `top` (the tree is not added yet), reported as one problem.
/// `reserve`, when given, is lent while the file is read.
reload_report reload_config(supervisor_handle top, config& current,
                            const std::string& file, const fd_limit& limit,
                            const status_lookup& status_of = {},
                            os::fd_reserve* reserve = nullptr);

/// reload_config() for a caller that only needs a verdict: "" when the
/// reload was applied, else report.errors().
std::string reload_from_file(supervisor_handle top, config& current,
                             const std::string& file, const fd_limit& limit);

/// `vitrine run`'s reloads: one at a time, on a helper thread, so the
/// signal loop keeps answering (a stop signal during a reload is acted on
/// at once; the reload's changes then end as the tree stops). A SIGHUP
/// during a reload runs another one after it. Threads: request(),
/// start_if_requested(), take_output() and join() from the loop's thread;
/// reload_now() from any other thread (the control socket): it blocks and
/// is serialized with the SIGHUP reloads, sharing the same `current`.
class reload_runner {
 public:
  /// `applied` is called with what runs after each reload that changed
  /// anything (one at a time, on the reloading thread). `run_stopping`
  /// says whether the run is stopping (a stop signal): a tree that stops
  /// during a reload otherwise was stopped by a command (`ctl stop TOP`).
  /// `reserve` (may be null) is lent while the file is read and while
  /// `applied` runs.
  reload_runner(std::string file, fd_limit limit,
                std::function<void(const config&)> applied = {},
                status_lookup status_of = {},
                std::function<bool()> run_stopping = {},
                os::fd_reserve* reserve = nullptr)
      : file_(std::move(file)),
        limit_(limit),
        applied_(std::move(applied)),
        status_now_(std::move(status_of)),
        run_stopping_(std::move(run_stopping)),
        reserve_(reserve),
        output_ready_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~reload_runner() { join(); }
  reload_runner(const reload_runner&) = delete;
  reload_runner& operator=(const reload_runner&) = delete;

  /// Asks for a reload (a SIGHUP); it starts at the next
  /// start_if_requested().
  void request() noexcept { requested_ = true; }
  /// A reload is asked for and not started yet.
  bool requested() const noexcept { return requested_; }
  /// A reload is asked for or running (its output is still to come).
  bool busy() const noexcept { return requested_ || running_.load(); }
  /// Starts the requested reload of `top` (which runs `current`) unless
  /// one is running; `current` must outlive the runner.
  void start_if_requested(const supervisor_handle& top, config& current);
  /// A reload now, on the calling thread, after any running one. A tree
  /// that stopped meanwhile (a stop signal, a failure) is one more of the
  /// returned report's failures, after the output's lines are made; one
  /// stopped by a command (`ctl stop TOP`) is not: it is said.
  reload_report reload_now(const supervisor_handle& top, config& current);

  struct output {
    std::vector<std::string> notes;  ///< summary lines
    /// Problems, a rejection's line, failures.
    std::vector<std::string> errors;
  };
  /// What the finished reloads reported since the last call.
  output take_output();
  /// Readable (poll) while take_output() has lines to give: a reload from
  /// the control socket wakes a loop that sleeps (before, an idle run
  /// printed its summary only at its next change: an outside tester).
  int output_fd() const noexcept { return output_ready_.get(); }
  void join();

 private:
  const std::string file_;
  const fd_limit limit_;
  const std::function<void(const config&)> applied_;
  const status_lookup status_now_;
  const std::function<bool()> run_stopping_;
  os::fd_reserve* const reserve_;
  std::mutex reloading_;  ///< one reload at a time
  /// Guards output_ alone, so that a reload's lines can be taken while the
  /// next one runs (a control-socket reload queued behind it).
  std::mutex output_mutex_;
  output output_;
  os::unique_fd output_ready_;  ///< eventfd, see output_fd()
  bool requested_ = false;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace vitrine::cli
