// directory_actor: the messaging baseline's name service. Under
// baseline::messaging_reads(), process lookups (runtime::find, for_each)
// are requests to this actor instead of lock-free reads of the shared
// registry (the name check of supervise() and the supervisor lookups read
// the registries in both modes: docs/design.md, section 10). Internal to
// the baseline.
//
// It answers from the runtime's registry, the name table both policies
// keep on the writer side (supervisors register and forget names there):
// the two policies then hold the same names, once, and differ only in how
// a reader reaches them (a request to this actor, or a load).
//
// Messages:
//   (get, name) -> record   nullptr when absent
//   (get) -> directory_listing, every record in insertion order
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <vector>

#include "vitrine/core/registry.hpp"
#include "vitrine/detail/process_record.hpp"

namespace vitrine::detail {

struct directory_listing {
  std::uint64_t revision = 0;  ///< the registry's, as listed
  std::vector<std::shared_ptr<process_record>> records;
};

/// `names` must outlive the actor (the runtime waits for it at shutdown).
caf::actor spawn_directory_actor(caf::actor_system& system,
                                 const core::registry<process_record>& names);

}  // namespace vitrine::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vitrine::detail::directory_listing)
