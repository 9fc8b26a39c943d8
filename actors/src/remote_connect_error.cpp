// describe_attempt_error(): remote_connect_error.hpp.
#include "remote_connect_error.hpp"

#include <caf/all.hpp>

#include "remote_tls.hpp"

namespace vitrine::detail {

std::string describe_attempt_error(caf::actor_system& system,
                                   const caf::error& e,
                                   std::chrono::milliseconds timeout) {
  std::string text;
  if (e.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(e.code())) {
      // (With TLS, CAF connects to the relay, not to the node: never.)
      case caf::sec::cannot_connect_to_node:
        text = "cannot connect (nothing listening, or the host is unknown)";
        break;
      // The peer answered, but not as a node: it closed the connection or
      // wrote something that is not CAF's handshake. With TLS, after the
      // controller's own handshake and the node's first header (a refused
      // certificate or a node without TLS was said by that one).
      case caf::sec::disconnect_during_handshake:
        text = tls_enabled(system)
                   ? "the node closed the connection after its TLS "
                     "handshake and first message (stopping?)"
                   : "no vitrine node answered: the port closed the "
                     "connection (not a node's, or a node that serves its "
                     "max_connections already)";
        break;
      case caf::sec::malformed_basp_message:
      // A well-framed server handshake whose payload CAF cannot read (an
      // outside tester's fake server: CAF's bare error code before).
      case caf::sec::serializing_basp_payload_failed:
      case caf::sec::incompatible_versions:
      case caf::sec::incompatible_application_ids:
      case caf::sec::unexpected_message:
        text = "no vitrine node answered (is this port a node's?)";
        break;
      // CAF's heartbeat tick ended the handshake (drop_silent_connections).
      case caf::sec::connection_timeout:
        text =
            "no vitrine node answered before CAF's connection check "
            "(stopped, overloaded, or not a node?)";
        break;
      case caf::sec::request_timeout:
        text = "no answer within " + std::to_string(timeout.count()) +
               (tls_enabled(system)
                    ? " ms (stopped, overloaded, or not a node?)"
                    : " ms (stopped, overloaded, not a node, or a node "
                      "with TLS?)");
        break;
      default:
        break;
    }
  }
  const auto caf_text = system.render(e);
  return text.empty() ? caf_text : text + "; CAF: " + caf_text;
}

}  // namespace vitrine::detail
