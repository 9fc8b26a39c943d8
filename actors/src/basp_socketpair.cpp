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
    caf::anon_send(broker, caf::publish_atom_v, std::move(scribe),
                   std::uint16_t{0}, published, std::set<std::string>{});
    return ends[0];
  };
}

}  // namespace vitrine::detail
