// basp_socketpair: how a node's framing guard reaches CAF's middleman
// without a port. For each peer the guard accepts, a Unix socketpair: CAF's
// BASP broker adopts one end as a new connection to the node's server actor
// (it writes the server handshake at once, as for a connection its own
// listener accepted), and the guard relays the peer to the other. Nothing
// listens behind the guard, so no other process (a local user on a
// 127.0.0.1 port, as before) can reach the middleman without passing the
// guard's checks. Internal to the actors/ library.
//
// Threads: the connector may be called from any thread (the guard's relay
// thread) while the middleman runs; it queues the broker a message behind
// those its workers are still reading, and returns. Costs: one
// socketpair(2) and one asynchronous message per accepted peer.
#pragma once

#include "remote_guard.hpp"

namespace caf {
class actor;
class actor_system;
}  // namespace caf

namespace vitrine::detail {

/// A connector for remote_guard: each call returns the guard's end of a
/// new connection to `server` through the middleman of `system` (-1 with
/// errno set when no socketpair could be made). `server` is published on
/// no port; the hub unpublishes it with port 0 (every entry).
remote_guard::upstream_connector basp_socketpair_upstream(
    caf::actor_system& system, const caf::actor& server);

}  // namespace vitrine::detail
