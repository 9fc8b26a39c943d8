#include "vitrine/read_policy.hpp"

#include <caf/all.hpp>

namespace vitrine {

constinit const detail::hybrid_reads detail::hybrid_instance;

core::process_state read_policy::ask(
    const detail::process_record& record) const {
  return *record.state.read();
}

core::supervisor_state read_policy::ask(
    const detail::supervisor_record& record) const {
  return *record.state.read();
}

caf::actor read_policy::spawn_directory(caf::actor_system&) const {
  return {};
}

std::shared_ptr<detail::process_record> read_policy::find(
    const detail::name_source& names, std::string_view name) const {
  return names.registry.find_shared(name);
}

std::uint64_t read_policy::visit(const detail::name_source& names,
                                 detail::record_visitor visitor) const {
  auto view = names.registry.snapshot();
  for (const auto& entry : view->entries()) visitor(entry->value);
  return view->revision();
}

}  // namespace vitrine
