// option_checks: the refusals of runtime_options, remoting_options and
// connect_options whose values would make a runtime spin, flap or wrap a
// deadline (zero and negative periods, durations past a day), each naming
// the field. Internal: the runtime's constructors, configure_remoting()
// and runtime::connect() call them before they build anything.
//
// Threads: any; pure. Cost: a few comparisons.
#pragma once

#include <string_view>

#include "vitrine/remote.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::detail {

/// Throws std::invalid_argument naming the first field out of range.
void check_runtime_options(const runtime_options& options);
/// As check_runtime_options(); `prefix` names where the fields are
/// ("runtime_options.remoting" or "remoting_options").
void check_remoting_options(const remoting_options& options,
                            std::string_view prefix);
void check_connect_options(const connect_options& options);

}  // namespace vitrine::detail
