// runtime: the object a host application embeds to supervise processes.
//
// It owns (or borrows) a caf::actor_system, one I/O thread that watches all
// children's exits, pipes and readiness fds, a root supervisor
// (one_for_one) and the registry that maps names to processes.
//
// Threads: every member function may be called from any non-actor thread.
// supervise() and find() may also be called from actors; supervise()
// messages the root supervisor and blocks until the child is added (not
// until it runs). The destructor (or shutdown(), idempotent) stops every
// child in reverse start order, waits for each to be reaped, and stops the
// I/O thread: it returns within the sum of the stop timeouts.
//
// Costs: find() is a registry lookup (lock-free) plus one reference count
// increment; for_each() walks one consistent registry revision.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vitrine/core/registry.hpp"
#include "vitrine/process_handle.hpp"
#include "vitrine/process_spec.hpp"
#include "vitrine/read_mode.hpp"
#include "vitrine/supervisor_handle.hpp"

namespace caf {
class actor;
class actor_system;
}  // namespace caf

namespace vitrine {

struct runtime_options {
  read_mode mode = read_mode::hybrid;
  /// Only when the runtime owns its actor system: scheduler threads (0 = as
  /// many as cores) and CAF's latency tuning (moderate-poll-attempts = 0;
  /// see docs/design.md). Ignored with a borrowed system.
  unsigned scheduler_threads = 0;
  bool tune_scheduler_for_latency = true;
  /// Become a child subreaper, so grandchildren that escape their process
  /// group are re-parented to this process and reaped as they exit (an
  /// os::orphan_reaper: a SIGCHLD handler that chains to the previous one,
  /// and a thread that sleeps until it fires). At shutdown every adopted
  /// process still alive is SIGKILLed and reaped.
  /// @warning with this on, any child of the host that vitrine did not
  /// launch is reaped too (its status is lost to the host) unless the host
  /// registers it with os::register_owned_child(); a host that installs its
  /// own SIGCHLD handler later must call os::orphan_reaper::notify() in it.
  bool subreaper = false;
  /// When not empty: publish every process and supervisor state to a
  /// shared-memory status table at this path (created 0600, removed at
  /// shutdown; read it with vitrine::status_reader). The constructor
  /// throws std::system_error if it cannot be created. Its heartbeat is
  /// written once per status_heartbeat (a thread that wakes only then).
  std::string status_table_path{};
  std::chrono::milliseconds status_heartbeat{1000};
};

class runtime {
 public:
  using registry_type = core::registry<detail::process_record>;

  /// A runtime with its own actor system.
  explicit runtime(runtime_options options = {});
  /// A runtime on the application's actor system, which must outlive it.
  explicit runtime(caf::actor_system& system, runtime_options options = {});
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Validates `spec` (throws spec_error listing every problem, starting
  /// nothing) and adds it to the root supervisor, which starts it if
  /// spec.autostart. Throws std::runtime_error after shutdown().
  process_handle supervise(process_spec spec);
  /// Adds a whole supervision tree under the root supervisor.
  supervisor_handle supervise(supervisor_spec spec);

  /// The process named `name`, or an empty handle. Hybrid: a lock-free
  /// registry lookup. Messaging: a request to the directory actor.
  process_handle find(std::string_view name) const;
  /// Calls f(process_handle) for every process, in insertion order, at one
  /// registry revision; returns that revision.
  template <class F>
  std::uint64_t for_each(F&& f) const;

  const registry_type& registry() const noexcept;
  supervisor_handle root() const;
  read_mode mode() const noexcept;
  caf::actor_system& system() noexcept;
  /// The messaging baseline's registry actor (invalid in hybrid mode).
  const caf::actor& directory_actor() const noexcept;

  /// Stops everything and joins; idempotent.
  void shutdown();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

template <class F>
std::uint64_t runtime::for_each(F&& f) const {
  auto view = registry().snapshot();
  for (const auto& entry : view->entries()) f(process_handle{entry->value});
  return view->revision();
}

}  // namespace vitrine
