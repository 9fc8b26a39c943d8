// directory_actor: the messaging baseline's name service. Under
// baseline::messaging_reads(), lookups (runtime::find, for_each, the name
// check of supervise()) are requests to this actor instead of lock-free
// reads of the shared registry. Internal to the baseline.
//
// Messages:
//   (put, name, record)     adds a name (sent by supervisors as they register)
//   (get, name) -> record   nullptr when absent
//   (get) -> directory_listing, every record in insertion order
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <vector>

#include "vitrine/detail/process_record.hpp"

namespace vitrine::detail {

struct directory_listing {
  std::uint64_t revision = 0;  ///< puts so far
  std::vector<std::shared_ptr<process_record>> records;
};

caf::actor spawn_directory_actor(caf::actor_system& system);

}  // namespace vitrine::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vitrine::detail::directory_listing)
