// runtime_context::forget_process / forget_supervisor: how a removed child
// leaves the runtime's indexes (see supervisor_actor.hpp).
#include "atoms.hpp"
#include "supervisor_actor.hpp"

namespace vitrine::detail {

void runtime_context::forget_process(
    const std::shared_ptr<process_record>& record) const {
  const std::string& name = *record->name;
  // The slot first, while the registry still holds the name: no process
  // of the same name can publish to the table before the slot is freed.
  // The actor has quit (it replied to shutdown), so it publishes no more.
  if (status_table && registry.find_shared(name) == record)
    status_table->remove(core::status_table::slot_kind::process, name);
  record->port.store(nullptr);
  if (registry.find_shared(name) == record) registry.erase(name);
  published();
}

void runtime_context::forget_supervisor(
    const std::shared_ptr<supervisor_record>& record) const {
  const std::string& name = *record->name;
  record->port.store(nullptr);
  // Names are unique (supervise() and place_child() check them, and
  // add_supervisor() adds none that is taken); should that ever fail, the
  // other supervisor's slot and entry stay.
  if (supervisors.find_shared(name) != record) return;
  if (status_table)
    status_table->remove(core::status_table::slot_kind::supervisor, name);
  supervisors.erase(name);
  published();
}

}  // namespace vitrine::detail
