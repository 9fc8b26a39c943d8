#include "vitrine/read_policy.hpp"

#include <caf/all.hpp>

#include <utility>

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

namespace {
// One cell per thread and state type: its reader and its writer are that
// thread, so publishing a new copy retires the last while views of it live.
template <class State>
const core::publication_cell<State>& publish_in_thread_cell(State asked) {
  thread_local core::publication_cell<State> cell{State{}};
  cell.publish(std::move(asked));
  return cell;
}
}  // namespace

const core::publication_cell<core::process_state>&
read_policy::ask_into_thread_cell(const detail::process_record& record) const {
  return publish_in_thread_cell(ask(record));
}

const core::publication_cell<core::supervisor_state>&
read_policy::ask_into_thread_cell(
    const detail::supervisor_record& record) const {
  return publish_in_thread_cell(ask(record));
}

caf::actor read_policy::spawn_directory(
    caf::actor_system&, const core::registry<detail::process_record>&) const {
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
