#include "guard_framing.hpp"

#include <algorithm>
#include <cstring>

namespace vitrine::detail {
namespace {

// Bytes that count as being heard without a message completed (a large
// message on a slow link keeps its connection).
constexpr std::size_t progress_bytes = 64 * 1024;
// A payload up to this size is not counted in the shared budget: a
// connection receives one message at a time, so these hold at most
// max_connections x 64 KiB (16 MiB at the default 256) in all, and a
// controller's handshake and requests, all far smaller, are never kept out
// by peers that announced large messages and send them slowly (an outside
// tester's 4 connections a second, each announcing 16 MiB, had kept 7 of 8
// `status --node` out).
constexpr std::uint64_t unbudgeted_payload_bytes = 64 * 1024;
// BASP 0.17 operations (caf/io/basp/message_type.hpp).
constexpr unsigned char server_handshake = 0;
constexpr unsigned char client_handshake = 1;
constexpr unsigned char max_operation = 6;  // heartbeat

std::uint32_t read_be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
         (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

}  // namespace

std::string basp_header_problem(const unsigned char* header,
                                std::uint32_t max_payload) {
  const unsigned char operation = header[0];
  const std::uint32_t payload = read_be32(header + 4);
  if (operation > max_operation)
    return "not BASP framing (operation " + std::to_string(operation) + ")";
  if (payload > max_payload)
    return "a message of " + std::to_string(payload) +
           " bytes announced (max_message_bytes " +
           std::to_string(max_payload) + ")";
  // CAF 0.17 reads a handshake's payload without checking that one came:
  // a handshake announcing none dereferences a null buffer. (Its own
  // check refuses the other payload-less messages that need one.)
  const bool handshake =
      operation == server_handshake || operation == client_handshake;
  if (handshake && payload == 0) return "a handshake without a payload";
  return {};
}

std::string guard_framing::take_header(std::uint32_t max_payload,
                                       budget& shared) {
  payload_left_ = read_be32(header_ + 4);
  if (auto problem = basp_header_problem(header_, max_payload);
      !problem.empty())
    return problem;
  // A controller's CAF sends its client handshake as soon as it connects;
  // anything else first (a heartbeat, which would count as a completed
  // message) would let a peer that never handshakes keep its connection.
  if (!greeted_ && header_[0] != client_handshake)
    return "a BASP message before the client handshake (operation " +
           std::to_string(header_[0]) + ")";
  greeted_ = true;
  if (payload_left_ <= unbudgeted_payload_bytes) return {};
  if (shared.in_flight + payload_left_ > shared.limit)
    return "a message of " + std::to_string(payload_left_) +
           " bytes announced while " + std::to_string(shared.in_flight) +
           " bytes of others are (at most " + std::to_string(shared.limit) +
           " in all)";
  announced_ = payload_left_;
  shared.in_flight += announced_;
  return {};
}

void guard_framing::settle(budget& shared) noexcept {
  shared.in_flight -= announced_;
  announced_ = 0;
}

std::string guard_framing::check(const unsigned char* p, std::size_t n,
                                 std::uint32_t max_payload, budget& shared) {
  unheard_bytes_ += n;
  bool completed = false;  // a message ended in these bytes
  while (n > 0) {
    if (payload_left_ > 0) {
      const auto k =
          static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, n));
      payload_left_ -= k;
      if (payload_left_ == 0) {
        completed = true;
        settle(shared);
      }
      p += k;
      n -= k;
      continue;
    }
    const std::size_t k = std::min(basp_header_size - header_seen_, n);
    std::memcpy(header_ + header_seen_, p, k);
    header_seen_ += k;
    p += k;
    n -= k;
    if (header_seen_ == basp_header_size) {
      if (auto refused = take_header(max_payload, shared); !refused.empty())
        return refused;
      if (payload_left_ == 0) {
        completed = true;
        settle(shared);
      }
      header_seen_ = 0;
    }
  }
  if (completed || unheard_bytes_ >= progress_bytes) {
    last_heard_ = clock_type::now();
    unheard_bytes_ = 0;
  }
  return {};
}

}  // namespace vitrine::detail
