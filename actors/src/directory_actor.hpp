// directory_actor: the messaging baseline's registry. In messaging mode,
// name lookups are requests to this actor instead of lock-free reads of the
// shared registry. Internal.
//
// Messages:
//   (put, name, record)   adds a name (from supervisors)
//   (get, name) -> record (nullptr when absent)
#pragma once

#include <caf/all.hpp>

namespace vitrine::detail {

caf::actor spawn_directory_actor(caf::actor_system& system);

}  // namespace vitrine::detail
