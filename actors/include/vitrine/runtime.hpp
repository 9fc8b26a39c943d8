// runtime: the object a host application embeds to supervise processes.
//
// It owns (or borrows) a caf::actor_system, one I/O thread that watches all
// children's exits, pipes and readiness fds, a root supervisor
// (one_for_one, intensity from runtime_options) and the registry that maps
// names to processes. The root restarts a failed child supervisor like any
// child; past its own intensity it fails (root().read()->status == failed,
// with last_failure naming the child) and stops everything it hosts, until
// root().start() starts it again.
//
// Threads: every member function may be called from any non-actor thread.
// supervise() and find() may also be called from actors; supervise()
// messages the root supervisor and blocks until the child is added and
// started as OTP's start_child does: a process until it left `starting`
// (running after startsecs or readiness, or an early exit), a tree until
// each of its children did, one after another. From an actor it blocks
// the scheduler thread that runs it: with every scheduler thread blocked
// so, no actor runs and none returns (call it from fewer actors at once
// than the scheduler has threads, or use supervisor_handle::add_child()).
// The destructor (or shutdown(), idempotent) stops every
// child in reverse start order, waits for each to be reaped, and stops the
// I/O thread: it returns within the sum of the stop timeouts, also while
// another thread's supervise() is starting a tree (that start is
// cancelled: supervise() returns a handle to the tree, which may still
// read `starting` for a moment, then stopping, and stopped once
// shutdown() returns; or it throws
// std::runtime_error if the tree was not added yet). Mirrors of nodes
// (connect()) first pass on the commands their handles sent: the node's
// answers are awaited at most connect_options::command_timeout plus one
// heartbeat. An owned actor system then waits for the host's own actors
// on it (see system()).
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
#include "vitrine/read_policy.hpp"
#include "vitrine/remote.hpp"
#include "vitrine/supervisor_handle.hpp"

namespace caf {
class actor;
class actor_system;
}  // namespace caf

namespace vitrine {

/// Every process of a runtime at one revision, in insertion order: what
/// runtime::processes() returns. A plain value (it holds a handle per
/// process); any thread.
class process_list {
 public:
  std::uint64_t revision() const noexcept { return revision_; }
  std::size_t size() const noexcept { return handles_.size(); }
  bool empty() const noexcept { return handles_.empty(); }
  const process_handle& operator[](std::size_t i) const noexcept {
    return handles_[i];
  }
  auto begin() const noexcept { return handles_.begin(); }
  auto end() const noexcept { return handles_.end(); }

 private:
  friend class runtime;
  std::uint64_t revision_ = 0;
  std::vector<process_handle> handles_;
};

struct runtime_options {
  /// How host threads read states and find processes (read_policy.hpp);
  /// null means read_policy::hybrid(). The messaging baseline is
  /// &baseline::messaging_reads() (vitrine::baseline target).
  const read_policy* reads = nullptr;
  /// Only when the runtime owns its actor system: scheduler threads (0 = as
  /// many as cores) and CAF's tuning (moderate-poll-attempts = 0 for
  /// latency, relaxed-sleep-duration = scheduler_idle_steal; see
  /// docs/design.md). Ignored with a borrowed system.
  unsigned scheduler_threads = 0;
  bool tune_scheduler_for_latency = true;
  /// With tune_scheduler_for_latency: how often an idle worker wakes to
  /// steal queued work from a busy one (CAF's relaxed-sleep-duration). A
  /// message to an idle runtime wakes a worker at once whatever this is;
  /// raise it where no actor on the system blocks a worker (each wake-up
  /// costs an idle runtime CPU), lower it where one may: below 1 ms counts
  /// as 1 ms; above a day is refused (std::invalid_argument).
  std::chrono::milliseconds scheduler_idle_steal{1000};
  /// Become a child subreaper, so grandchildren that escape their process
  /// group are re-parented to this process and reaped as they exit (an
  /// os::orphan_reaper: a SIGCHLD handler that chains to the previous one,
  /// and a thread that sleeps until it fires). At shutdown every child
  /// still alive that is not owned is SIGKILLed and reaped: adopted
  /// orphans (and, round after round, what they started), and the host's
  /// own children not registered as owned. The
  /// shutdown of the last runtime with this on gives the host back as it
  /// was: no longer a subreaper (unless it was one before the first), its
  /// SIGCHLD handler restored; the reaper's wake-up pipe (2 fds) stays
  /// open until the process ends (a signal handler may still write to it).
  /// @warning with this on, any child of the host that vitrine did not
  /// launch is reaped too (its status is lost to the host) unless the host
  /// registers it with os::register_owned_child(); a host that installs its
  /// own SIGCHLD handler later must call os::orphan_reaper::notify() in it.
  bool subreaper = false;
  /// When not empty: publish every process and supervisor state to a
  /// shared-memory status table at this path (created 0600, removed at
  /// shutdown; read it with vitrine::status_reader). The constructor
  /// throws std::system_error if it cannot be created, or if the path holds
  /// anything but the table of a runtime that is gone: another file
  /// (EEXIST), or the table of a live runtime (EBUSY; each runtime needs a
  /// path of its own). A relative path is taken from the working directory
  /// at construction. Its heartbeat is
  /// written once per status_heartbeat (a thread that wakes only then).
  /// Readers call a runtime gone when its pid is dead, reused or stopped
  /// at once, and when the heartbeat is 5 periods old. status_heartbeat
  /// must be from 1 ms to a day (else std::invalid_argument).
  std::string status_table_path{};
  std::chrono::milliseconds status_heartbeat{5000};
  /// The root supervisor's restart intensity: more than `root_intensity`
  /// restarts of its direct children (processes past their own restart
  /// limit do not ask for any) within `root_period` fail the root. The
  /// default, 10 in 10 s, is twice the default per-process limit (5 in
  /// 10 s), so one crash-looping child cannot trip it; 0 fails the root
  /// on the first restart a child asks for (how `vitrine run` makes a
  /// failed top supervisor final).
  unsigned root_intensity = 10;
  std::chrono::milliseconds root_period{10'000};
  /// CAF's middleman, heartbeats and connection timeout for serve() and
  /// connect() (remote.hpp); off by default. With a borrowed actor system
  /// both are needed: these options (serve() and connect() read them) and
  /// configure_remoting(config, remoting) on the system's config before
  /// it is built (it loads the middleman and sets CAF's heartbeat). Bad
  /// TLS files (remoting.tls) make the runtime's constructor throw
  /// std::invalid_argument naming the file.
  remoting_options remoting{};
};

class runtime {
 public:
  using registry_type = core::registry<detail::process_record>;
  using supervisor_registry_type = core::registry<detail::supervisor_record>;

  /// A runtime with its own actor system. Throws std::invalid_argument
  /// naming the first option out of range (root_period, status_heartbeat,
  /// scheduler_idle_steal, scheduler_threads above 1,024, and with
  /// remoting enabled its heartbeat_interval and connection_timeout).
  /// Throws std::system_error (EAGAIN) when the threads of its actor
  /// system cannot all be started (ulimit -u, a pids cgroup limit): it
  /// checks first, as CAF 0.17 crashes when one cannot be.
  explicit runtime(runtime_options options = {});
  /// A runtime on the application's actor system, which must outlive it.
  explicit runtime(caf::actor_system& system, runtime_options options = {});
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Validates `spec` (throws spec_error listing every problem, starting
  /// nothing) and adds it to the root supervisor, which starts it if
  /// spec.autostart and the root is running (a stopped or failed root,
  /// which supervises nothing, keeps it stopped until root().start(), as
  /// add_child() does). Returns once the process left `starting` (OTP's
  /// start_child): up to its startsecs, or until its readiness. Not to
  /// wait: autostart = false, then handle.start(), whose command has
  /// wait_until(deadline). Throws std::runtime_error after shutdown();
  /// after begin_shutdown() (and before shutdown()) it adds the process
  /// without starting it and returns its handle (`stopped`).
  process_handle supervise(process_spec spec);
  /// Adds a whole supervision tree under the root supervisor. After
  /// begin_shutdown() (and before shutdown()) it is added stopped: its
  /// supervisor reads `stopped` and lists its children, stopped.
  supervisor_handle supervise(supervisor_spec spec);

  /// The process named `name`, or an empty handle, looked up through the
  /// read policy. Hybrid: a lock-free registry lookup. Messaging: a request
  /// to the directory actor.
  process_handle find(std::string_view name) const;
  /// Calls f(process_handle) for every process, in insertion order, at one
  /// revision (through the read policy); returns that revision.
  template <class F>
  std::uint64_t for_each(F&& f) const;

  /// Every process at one revision, in insertion order (through the read
  /// policy, as for_each()): one allocation, and one handle (a reference
  /// count increment) per process.
  process_list processes() const;
  /// Calls f(supervisor_handle) for every supervisor at one revision: the
  /// root first, then each tree in the order its supervisors were built (a
  /// parent before its children). Supervisor names are unique in a
  /// runtime: supervise() and add_child() refuse a tree that brings one
  /// already taken (spec_error / name_taken), as for process names.
  template <class F>
  std::uint64_t for_each_supervisor(F&& f) const;
  /// The supervisor named `name` ("root" for the root), or an empty handle.
  supervisor_handle find_supervisor(std::string_view name) const;
  supervisor_handle root() const;
  /// A count of every change this runtime made visible: a published
  /// process or supervisor state, a process added or forgotten. Equal
  /// values mean nothing changed between the two calls (a changed one
  /// means something may have; the count moves just after the change is
  /// readable). One load: a loop that redraws
  /// only on change reads this word and returns when nothing happened.
  std::uint64_t publications() const noexcept;
  /// An eventfd, readable after the first change that follows a call of
  /// arm_publication_fd() that returned true: a loop that found nothing new
  /// sleeps in poll(2) on it (with its other fds) instead of ticking. Read
  /// it only through arm_publication_fd(), which drains it.
  int publication_fd() const noexcept;
  /// Arms publication_fd() unless publications() already differs from
  /// `seen` (false: read the states again first). One thread at a time.
  bool arm_publication_fd(std::uint64_t seen) const noexcept;
  /// What the status table (runtime_options::status_table_path) lacks:
  /// the processes and supervisors whose states it could not take because
  /// the file could not grow (a full file system: ENOSPC), and that error.
  /// {0, ""} when it lists every name, or without a table. A missing name
  /// is written in by its next published state that finds room. Any
  /// thread; one relaxed load while nothing is missing.
  struct status_table_gap {
    std::size_t missing = 0;
    std::string error;
  };
  status_table_gap missing_from_status_table() const;
  /// The status table's file may have been removed, renamed away or
  /// shrunk (a watcher of its directory saw it): it is checked, and put
  /// back, now rather than at the next heartbeat. Any thread; returns at
  /// once; nothing without a table.
  void check_status_table();
  /// The read policy chosen at construction.
  const read_policy& reads() const noexcept;
  /// The actor system the runtime runs on (its own, or the one it was
  /// given). An actor the host spawns on its own system must have quit, or
  /// every handle to it be dropped, before the runtime is destroyed: CAF's
  /// ~actor_system waits for every actor, without a bound (the destructor's
  /// bound in the file comment does not cover them).
  caf::actor_system& system() noexcept;

  // -- remote (remote.hpp, docs/distribution.md)
  // -------------------------------

  /// Publishes this runtime's processes to remote controllers on
  /// options.bind_address:options.port; returns the bound port. Throws
  /// std::runtime_error if remoting is not enabled, the address is refused
  /// (not loopback, without TLS and not insecure), the bind fails, or,
  /// with TLS, a certificate file cannot be read or used any longer.
  std::uint16_t serve(const serve_options& options);
  /// Starts mirroring the node at `node` (asynchronous: returns at once;
  /// node_handle::wait_connected()). Throws std::invalid_argument for an
  /// endpoint remote_endpoint::parse() would refuse (port 0, an empty or
  /// malformed host) or for options out of range (connect_options),
  /// std::runtime_error if remoting is not enabled.
  node_handle connect(remote_endpoint node, connect_options options = {});

  /// Stops every program and actor and joins vitrine's own threads;
  /// idempotent. An actor system the runtime owns is destroyed by
  /// ~runtime, not here (its threads stay until then). Cancels a supervise() in
  /// progress on another thread (see the file comment).
  void shutdown();
  /// The first step of shutdown(), without waiting, from any thread (e.g.
  /// the one that reads a stop signal while another will call shutdown()):
  /// from now on no start spawns a program (one whose spawn is already
  /// under way completes and is stopped by the shutdown), and a
  /// supervise() that is starting a tree returns, and a node (serve())
  /// refuses controllers' commands and tells them it is stopping
  /// (node_handle::stopping()). Call shutdown() to stop everything.
  /// Idempotent; one atomic flag, and a message to each node server.
  void begin_shutdown() noexcept;

 private:
  friend struct detail::runtime_access;
  detail::name_source names() const noexcept;
  const registry_type& registry() const noexcept;
  const supervisor_registry_type& supervisors() const noexcept;

  struct impl;
  std::unique_ptr<impl> impl_;
};

template <class F>
std::uint64_t runtime::for_each(F&& f) const {
  const read_policy& policy = reads();
  return policy.for_each_record(
      names(), [&](const std::shared_ptr<detail::process_record>& record) {
        f(process_handle{record, policy});
      });
}

inline process_list runtime::processes() const {
  process_list list;
  list.revision_ = for_each(
      [&](process_handle h) { list.handles_.push_back(std::move(h)); });
  return list;
}

template <class F>
std::uint64_t runtime::for_each_supervisor(F&& f) const {
  auto view = supervisors().snapshot();
  for (const auto& entry : view->entries())
    f(supervisor_handle{entry->value, reads()});
  return view->revision();
}

}  // namespace vitrine
