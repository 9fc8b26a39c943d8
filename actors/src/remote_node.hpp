// node_shared: what a node_handle and its mirror actor share. The mirror
// actor is the only writer of the registry and of every record's state;
// handles read them lock-free. Internal to the actors/ library.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "vitrine/core/registry.hpp"
#include "vitrine/remote.hpp"

namespace vitrine::detail {

/// A mirrored process's record. The mirror publishes states under its own
/// versions (its `unknown` states are publications too); this keeps the
/// version the node's process actor gave the state it holds.
struct mirrored_record : process_record {
  using process_record::process_record;
  std::atomic<std::uint64_t> node_version{0};
};

struct node_shared {
  using clock = std::chrono::steady_clock;

  node_shared(remote_endpoint e, connect_options o, remoting_options r)
      : endpoint(std::move(e)), options(o), remoting(r) {}

  const remote_endpoint endpoint;
  const connect_options options;
  const remoting_options remoting;
  core::registry<process_record> registry;  // of mirrored_records

  std::atomic<std::int64_t> last_contact_ns{0};
  std::atomic<std::uint64_t> synchronisations{0};
  std::atomic<std::uint64_t> missed_transitions{0};
  /// The node said its runtime began to shut down (r_stopping); until the
  /// next synchronisation.
  std::atomic<bool> stopping{false};

  node_status status() const noexcept {
    return status_.load(std::memory_order_acquire);
  }
  /// `closed` is final: a connection the mirror completes while it drains
  /// after close() does not bring the node back.
  void set_status(node_status s) {
    {
      std::lock_guard lock{mutex_};
      if (status_.load(std::memory_order_relaxed) == node_status::closed)
        return;
      status_.store(s, std::memory_order_release);
    }
    changed_.notify_all();
  }
  bool wait_for(node_status s, clock::time_point deadline) {
    return wait_until([&] { return status() == s; }, deadline);
  }
  /// Wakes wait_until() callers: the mirror added a process.
  void notify_processes() {
    { std::lock_guard lock{mutex_}; }
    changed_.notify_all();
  }
  /// Blocks until `pred()` (checked at each status change and each added
  /// process) or `deadline`.
  template <class Pred>
  bool wait_until(Pred pred, clock::time_point deadline) {
    std::unique_lock lock{mutex_};
    return changed_.wait_until(lock, deadline, pred);
  }
  /// Why the last connection attempt failed ("" once connected).
  std::string attempt_error() const {
    std::lock_guard lock{mutex_};
    return attempt_error_;
  }
  void set_attempt_error(std::string why) {
    std::lock_guard lock{mutex_};
    attempt_error_ = std::move(why);
  }
  void touch() {
    last_contact_ns.store(clock::now().time_since_epoch().count(),
                          std::memory_order_relaxed);
  }

  /// The mirror actor (reset by close()) and, while connected, the node
  /// server's proxy (for node_handle::ask()).
  std::mutex actor_mutex;
  caf::actor mirror;
  caf::actor server;
  /// The mirror after close(), while it drains: runtime::shutdown() waits
  /// for it too.
  caf::actor draining;
  void set_server(caf::actor s) {
    std::lock_guard lock{actor_mutex};
    server = std::move(s);
  }

 private:
  std::atomic<node_status> status_{node_status::connecting};
  mutable std::mutex mutex_;
  std::string attempt_error_;  // under mutex_
  std::condition_variable changed_;
};

/// Spawns the mirror for `shared` (it starts connecting at once).
caf::actor spawn_node_mirror(caf::actor_system& system,
                             std::shared_ptr<node_shared> shared);

/// Closes the node (idempotent): its handles send no more commands, and the
/// mirror quits once every command they sent before has been answered by
/// the node or has timed out (connect_options::command_timeout).
void close_node(node_shared& shared);

}  // namespace vitrine::detail
