// The CAF messages a host application's actors may receive from vitrine.
//
// Subscribing (process_handle::subscribe) makes the process actor send
// (state_changed_atom, vitrine::core::process_state) to the subscriber after
// every transition. The state is a copy the subscriber owns. Include this
// header (it includes CAF) only in code that handles those messages.
#pragma once

#include <caf/all.hpp>

#include "vitrine/core/process_state.hpp"

namespace vitrine {
using state_changed_atom = caf::atom_constant<caf::atom("v_state")>;
}  // namespace vitrine

// process_state is immutable and local-only (it shares its name string).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vitrine::core::process_state)
