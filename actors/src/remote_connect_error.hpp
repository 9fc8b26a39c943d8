// remote_connect_error: a mirror's failed connection attempt in words
// (node_handle::last_error(), `status --node`). Internal to the actors/
// library; any thread. Costs: one rendering of the CAF error.
#pragma once

#include <chrono>
#include <string>

namespace caf {
class actor_system;
class error;
}  // namespace caf

namespace vitrine::detail {

/// What went wrong, for the CAF errors a connect or the first request to
/// a node ends with (nothing listening, a peer that is no node, CAF's
/// connection check, no answer within `timeout`), followed by CAF's own
/// rendering; CAF's rendering alone for any other error.
std::string describe_attempt_error(caf::actor_system& system,
                                   const caf::error& e,
                                   std::chrono::milliseconds timeout);

}  // namespace vitrine::detail
