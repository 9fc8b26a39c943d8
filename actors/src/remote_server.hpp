// remote_server: spawns the node server actor runtime::serve() publishes
// (remote_server.cpp). Internal to the actors/ library.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <stop_token>

#include "vitrine/runtime.hpp"

namespace vitrine::detail {

class supervise_gate;

/// The server reads `registry`, which must outlive it (the runtime kills it
/// at shutdown); it keeps alive by its own heartbeat timer until killed.
/// Controllers' supervise requests go through `gate` (null: refused).
/// Once `stopping` is requested (the runtime's shutdown began) it refuses
/// commands and tells its mirrors so (r_stopping).
caf::actor spawn_node_server(caf::actor_system& system,
                             const runtime::registry_type& registry,
                             std::chrono::milliseconds heartbeat,
                             std::shared_ptr<supervise_gate> gate,
                             std::stop_token stopping);

}  // namespace vitrine::detail
