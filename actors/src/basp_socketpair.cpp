#include "basp_socketpair.hpp"

#include <sys/socket.h>

#include <caf/io/all.hpp>
#include <caf/io/basp_broker.hpp>

#include <cstdint>
#include <set>
#include <string>

namespace vitrine::detail {

remote_guard::upstream_connector basp_socketpair_upstream(
    caf::actor_system& system, const caf::actor& server) {
  auto& middleman = system.middleman();
  auto broker = middleman.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  auto published = caf::actor_cast<caf::strong_actor_ptr>(server);
  return [&middleman, broker, published]() -> int {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                     ends) != 0)
      return -1;
    // The broker's message for a connection made elsewhere: it adds the
    // scribe, registers `published` at port 0 again (the same entry) and
    // writes the server handshake on it. The scribe owns ends[1] from here.
    auto scribe = middleman.backend().new_scribe(ends[1]);
    auto adopt = caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                           caf::publish_atom_v,
                                           std::move(scribe), std::uint16_t{0},
                                           published, std::set<std::string>{});
    // Sent through the queue in which the broker's workers hand on what
    // they read, not to its mailbox. The broker names a connection by its
    // descriptor's number and forgets a closed one only when a message it
    // put in that queue comes back, behind what the workers still read; the
    // number is free before. ends[1] may have it: adopted first, the new
    // connection took the closed one's state, and the late clean-up then
    // erased the new route, so the peer's requests went unanswered (issue
    // #13: 37 of 14,460 `status --node` on a busy machine). Queued after
    // the socketpair was made, the adoption follows every such clean-up.
    auto* basp = static_cast<caf::io::basp_broker*>(
        caf::actor_cast<caf::abstract_actor*>(broker));
    auto& queue = basp->instance.queue();
    queue.push(nullptr, queue.new_id(),
               caf::actor_cast<caf::strong_actor_ptr>(broker),
               std::move(adopt));
    return ends[0];
  };
}

}  // namespace vitrine::detail
