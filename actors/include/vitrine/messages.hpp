// The CAF messages a host application's actors may receive from vitrine.
//
// Subscribing (process_handle::subscribe) makes the process actor send
// (state_changed_atom, vitrine::core::process_state) to the subscriber after
// every transition; subscribing to a supervisor (supervisor_handle::
// subscribe) sends (supervisor_changed_atom, vitrine::core::supervisor_state)
// likewise. The state is a copy the subscriber owns. Include this
// header (it includes CAF) only in code that handles those messages.
//
// Threads: the messages arrive on the subscriber's own actor, on whatever
// scheduler thread runs it. Cost: one message per transition and
// subscriber, sent by the owning actor (a state copy shares its strings).
#pragma once

#include <caf/all.hpp>

#include "vitrine/core/process_state.hpp"
#include "vitrine/core/supervisor_state.hpp"

namespace vitrine {
using state_changed_atom = caf::atom_constant<caf::atom("v_state")>;
using supervisor_changed_atom = caf::atom_constant<caf::atom("v_supstate")>;
}  // namespace vitrine

// process_state is immutable and local-only (it shares its name string).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vitrine::core::process_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vitrine::core::supervisor_state)
