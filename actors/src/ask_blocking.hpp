// ask_blocking: vitrine's one blocking request/response round trip
// (internal). The runtime's commands to the root supervisor and the
// messaging baseline's reads and look-ups all go through it.
//
// Threads: a non-actor thread that owns `self` (a scoped_actor is not
// shared between threads). Cost: one request and one reply through CAF's
// scheduler; blocks the calling thread until the reply or the error
// arrives (no timeout: the target answers or goes down).
#pragma once

#include <caf/all.hpp>

#include <utility>

namespace vitrine::detail {

/// Sends `xs...` from `self` to `target` and waits for a `Reply`; the
/// reply, or the error the request ended with (e.g. the target is down).
template <class Reply, class... Ts>
caf::expected<Reply> ask_blocking(caf::scoped_actor& self,
                                  const caf::actor& target, Ts&&... xs) {
  caf::expected<Reply> result{caf::sec::request_receiver_down};
  self->request(target, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](Reply& reply) { result = std::move(reply); },
               [&](caf::error& e) { result = std::move(e); });
  return result;
}

}  // namespace vitrine::detail
