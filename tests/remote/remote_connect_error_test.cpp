// What a failed connection attempt says (actors/src/remote_connect_error.hpp,
// internal): every CAF error a peer that is not a node can end the
// handshake with reads as "no vitrine node answered", never CAF's bare code
// alone (an outside tester's fake server got
// `system_error(serializing_basp_payload_failed)`).
#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "remote_connect_error.hpp"
#include "vitrine/runtime.hpp"

TEST_CASE("a peer that answers but is no vitrine node is named so",
          "[remote]") {
  using namespace std::chrono_literals;
  vitrine::runtime rt;
  for (const auto code :
       {caf::sec::malformed_basp_message,
        caf::sec::serializing_basp_payload_failed,
        caf::sec::incompatible_versions, caf::sec::incompatible_application_ids,
        caf::sec::unexpected_message}) {
    const auto text = vitrine::detail::describe_attempt_error(
        rt.system(), caf::make_error(code), 1000ms);
    INFO(text);
    CHECK(
        text.starts_with("no vitrine node answered (is this port a node's?)"));
    CHECK(text.find("CAF: ") != std::string::npos);  // its own words after
  }
  // A port that closes: also a node at its max_connections (an outside
  // tester was told only that the port may not be a node's).
  const auto closed = vitrine::detail::describe_attempt_error(
      rt.system(), caf::make_error(caf::sec::disconnect_during_handshake),
      1000ms);
  CHECK(closed.starts_with(
      "no vitrine node answered: the port closed the connection (not a "
      "node's, or a node that serves its max_connections already)"));
}
