// spec_names: the names a child spec brings into a runtime. Internal.
// Threads: pure functions. Cost: one walk of the spec tree.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vitrine/process_spec.hpp"

namespace vitrine::detail {

/// The runtime's own root supervisor: a name no spec may take (status and
/// `vitrine ctl` address supervisors and processes by name).
inline constexpr std::string_view root_supervisor_name = "root";

/// Appends the name of every process in `spec`'s tree, in spec order.
inline void collect_process_names(const supervisor_spec& spec,
                                  std::vector<std::string>& out) {
  for (const auto& c : spec.children) {
    if (const auto* p = std::get_if<process_spec>(&c))
      out.push_back(p->name);
    else
      collect_process_names(std::get<supervisor_spec>(c), out);
  }
}

/// The process names of a child: its own, or those of its tree.
inline std::vector<std::string> process_names(const child_spec& spec) {
  std::vector<std::string> names;
  if (const auto* p = std::get_if<process_spec>(&spec))
    names.push_back(p->name);
  else
    collect_process_names(std::get<supervisor_spec>(spec), names);
  return names;
}

/// Appends the name of `spec` and of every supervisor in its tree, parents
/// first.
inline void collect_supervisor_names(const supervisor_spec& spec,
                                     std::vector<std::string>& out) {
  out.push_back(spec.name);
  for (const auto& c : spec.children)
    if (const auto* s = std::get_if<supervisor_spec>(&c))
      collect_supervisor_names(*s, out);
}

/// The supervisor names of a child: none for a process, else its tree's.
inline std::vector<std::string> supervisor_names(const child_spec& spec) {
  std::vector<std::string> names;
  if (const auto* s = std::get_if<supervisor_spec>(&spec))
    collect_supervisor_names(*s, names);
  return names;
}

/// The name a supervisor knows its child by.
inline const std::string& child_name(const child_spec& spec) {
  return std::visit([](const auto& s) -> const std::string& { return s.name; },
                    spec);
}

}  // namespace vitrine::detail
