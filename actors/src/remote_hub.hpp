// remote_hub: a runtime's remote endpoints, i.e. the node servers it
// published and the nodes it mirrors, so that shutdown() stops them all.
// Internal to the actors/ library; its members are called under the
// runtime's mutex.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <stop_token>
#include <vector>

#include "vitrine/remote.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::detail {

struct node_shared;
class remote_guard;
class supervise_gate;

class remote_hub {
 public:
  explicit remote_hub(remoting_options options);
  ~remote_hub();

  /// Spawns a node server over `registry` and publishes it; the port.
  /// Controllers' supervise requests go to `rt`, until close_supervise();
  /// their commands are refused once `stopping` is requested.
  std::uint16_t serve(caf::actor_system& system,
                      const runtime::registry_type& registry,
                      const serve_options& options, runtime& rt,
                      std::stop_token stopping);
  /// Refuses controllers' supervise requests from now on and waits for
  /// those under way: runtime::shutdown() calls it before taking its lock
  /// (a request under way needs that lock). Idempotent; no lock needed.
  void close_supervise();
  /// Spawns a mirror of `node`.
  std::shared_ptr<node_shared> connect(caf::actor_system& system,
                                       remote_endpoint node,
                                       const connect_options& options);
  /// Unpublishes and stops every server, closes every mirror. Each server
  /// first sees its last states delivered to its controllers' mirrors,
  /// waiting for each at most drain_patience (or the connection timeout,
  /// if shorter).
  void shutdown(caf::actor_system& system);
  static constexpr std::chrono::milliseconds drain_patience{1000};

 private:
  void require_enabled(caf::actor_system& system) const;

  remoting_options options_;
  std::vector<std::pair<caf::actor, std::uint16_t>> servers_;
  std::vector<std::weak_ptr<node_shared>> nodes_;
  std::vector<std::unique_ptr<remote_guard>> guards_;
  std::shared_ptr<supervise_gate> gate_;
};

/// True for 127.0.0.0/8, ::1 and "localhost" (in any ASCII case).
bool is_loopback_address(const std::string& address);

}  // namespace vitrine::detail
