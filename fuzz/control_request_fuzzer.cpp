// libFuzzer target: the control socket's request parser must turn any bytes
// into a request or an error text, never a crash, a hang or a sanitizer
// report; an accepted request must encode and parse back to itself, and
// every error reply must be a valid reply.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  namespace control = vitrine::cli::control;
  const std::string_view bytes{reinterpret_cast<const char*>(data), size};
  std::string error;
  const auto request = control::parse_request(bytes, error);
  if (!request) {
    std::string reply_error;
    if (error.empty() ||
        !control::parse_reply(control::encode_error(error), reply_error))
      std::abort();
    return 0;
  }
  auto line = control::encode(*request);
  line.pop_back();  // the '\n'
  const auto again = control::parse_request(line, error);
  if (!again || again->command != request->command ||
      again->names != request->names || again->signal != request->signal ||
      again->wait != request->wait ||
      again->timeout_ms != request->timeout_ms ||
      again->deadline_ms != request->deadline_ms)
    std::abort();
  return 0;
}
