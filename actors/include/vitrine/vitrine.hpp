// vitrine: supervise OS processes with CAF actors; read their states from
// any thread without messaging, locking or allocating.
//
// The umbrella header: everything an embedding application uses. See
// docs/embedding.md. Threads and costs are documented per header. The
// messaging baseline is not here: it is the separate vitrine::baseline
// target (docs/embedding.md), built for bench/ and tests/, not installed.
#pragma once

#include "vitrine/child_change.hpp"
#include "vitrine/core/process_state.hpp"
#include "vitrine/core/supervisor_state.hpp"
#include "vitrine/core/transition_history.hpp"
#include "vitrine/os/signals.hpp"
#include "vitrine/process_handle.hpp"
#include "vitrine/process_spec.hpp"
#include "vitrine/read_policy.hpp"
#include "vitrine/runtime.hpp"
#include "vitrine/state_view.hpp"
#include "vitrine/supervisor_handle.hpp"
