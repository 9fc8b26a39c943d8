#include "vitrine/supervisor_handle.hpp"

#include <caf/all.hpp>

#include "atoms.hpp"
#include "command_port.hpp"

namespace vitrine {

supervisor_command supervisor_handle::send_command(int kind) const {
  auto port = record_->port.load();
  if (!port) return {};
  const std::uint64_t ticket = port->next_ticket();
  caf::anon_send(port->owner(), detail::command_atom::value, ticket, kind);
  return supervisor_command{*this, ticket};
}

supervisor_command supervisor_handle::start() const {
  return send_command(static_cast<int>(detail::command_kind::start));
}

supervisor_command supervisor_handle::stop() const {
  return send_command(static_cast<int>(detail::command_kind::stop));
}

bool supervisor_handle::subscribe(const caf::actor& subscriber) const {
  auto port = record_->port.load();
  if (!port) return false;
  caf::anon_send(port->owner(), detail::subscribe_atom::value, subscriber);
  return true;
}

bool supervisor_handle::unsubscribe(const caf::actor& subscriber) const {
  auto port = record_->port.load();
  if (!port) return false;
  caf::anon_send(port->owner(), detail::unsubscribe_atom::value, subscriber);
  return true;
}

}  // namespace vitrine
