// remote_mirror_state: the mirror actor's state, and what its two files
// share: remote_mirror.cpp (mirrored processes, forwarded commands,
// closing) and remote_mirror_link.cpp (connection attempts, the snapshot,
// losing the node, retries). Internal to the actors/ library; every
// function runs on the mirror actor (its state is that actor's alone).
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "command_port.hpp"
#include "remote_node.hpp"
#include "remote_tls_greeting.hpp"
#include "remote_wire.hpp"
#include "subscriber_list.hpp"
#include "tls_relay.hpp"
#include "vitrine/core/process_state.hpp"

namespace vitrine::detail {

using clock = std::chrono::steady_clock;

struct mirrored_process {
  std::shared_ptr<mirrored_record> record;
  caf::actor forwarder;
  core::process_state last;  // the node's last state (node ticket space)
  std::uint64_t local_version = 0;
  std::uint64_t local_applied = 0;
  /// (node ticket, controller ticket) of commands not yet applied.
  std::deque<std::pair<std::uint64_t, std::uint64_t>> pending;
  /// Where its handles take their tickets.
  std::shared_ptr<command_port> port;
  /// The last controller ticket that reached the mirror, and how many of
  /// the commands forwarded the node has not answered yet.
  std::uint64_t last_ticket_received = 0;
  unsigned unanswered = 0;
  /// The node's applied_command that local_applied accounts for: a larger
  /// one is a command from elsewhere (map_foreign_commands()).
  std::uint64_t node_applied_mapped = 0;
  subscriber_list subscribers;
};

struct mirror_state {
  std::shared_ptr<node_shared> shared;
  caf::actor server;
  std::uint64_t attempt = 0;  // stale replies and timers carry an older one
  /// When the attempt under way must have ended (its steps share it).
  clock::time_point attempt_deadline{};
  std::chrono::milliseconds backoff{0};
  /// Why the node was lost, until it is connected again: last_error()
  /// keeps it ahead of each failed attempt's reason.
  std::string lost_because;
  std::unordered_map<std::string, mirrored_process> processes;
  /// Commands and signals sent to the node and not answered yet.
  std::size_t in_flight = 0;
  /// Stops a greeting check under way (remote_greeting.hpp,
  /// remote_tls_greeting.hpp) when the
  /// mirror closes or quits, so it holds up no shutdown.
  std::stop_source greeting_stop;
  /// With TLS: the relay of the current connection (the previous one's
  /// is stopped and joined when the next attempt connects, or here).
  std::unique_ptr<tls_relay> relay;
  /// Set by close: forwarders still to flush, and when to quit regardless.
  bool closing = false;
  std::size_t unflushed = 0;
  clock::time_point quit_by{};

  mirror_state() = default;
  mirror_state(const mirror_state&) = delete;
  mirror_state& operator=(const mirror_state&) = delete;
  /// Runs as the mirror quits: handles keep their last state and lose
  /// their commands; the forwarders go with it.
  ~mirror_state() {
    greeting_stop.request_stop();
    for (auto& [name, p] : processes) {
      p.record->port.store(nullptr);
      caf::anon_send_exit(p.forwarder, caf::exit_reason::user_shutdown);
    }
  }
};

using mirror_actor = caf::stateful_actor<mirror_state>;

/// Publishes `s` (the node's state, or its unknown copy) locally.
void publish(mirrored_process& p, core::process_state s);

/// Removes a process that left the node (its handles keep their last
/// state and send no more commands).
void drop_process(mirror_actor* self, const std::string& name);

/// Applies one node state; `resync` counts the versions it skipped.
void apply(mirror_actor* self, const wire_state& w, bool resync);

/// Starts a new connection attempt (remote_mirror_link.cpp).
void attempt(mirror_actor* self);

/// Attempt `me` failed with `e`: says why, tries again after the backoff.
void attempt_failed(mirror_actor* self, std::uint64_t me, const caf::error& e);
/// Attempt `me` failed for `why`: said (last_error()), retried later.
void attempt_ended(mirror_actor* self, std::uint64_t me, std::string why);

/// CAF's connect and the hello, for attempt `me`.
void connect_middleman(mirror_actor* self, std::uint64_t me);
/// With TLS: the same over a relay that carries `stream` (the greeting's
/// connection, handshake done) for CAF.
void connect_relayed(mirror_actor* self, std::uint64_t me,
                     std::shared_ptr<tls_node_stream> stream);

/// The node is lost: every state `unknown`, then the status; a retry is
/// armed. `why` becomes node_handle::last_error() until an attempt says
/// more.
void lose(mirror_actor* self, std::string why);

}  // namespace vitrine::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<vitrine::detail::tls_node_stream>)
