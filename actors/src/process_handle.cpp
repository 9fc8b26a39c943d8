#include "vitrine/process_handle.hpp"

#include <caf/all.hpp>

#include <csignal>
#include <memory>
#include <stdexcept>

#include "atoms.hpp"
#include "command_port.hpp"

namespace vitrine {
namespace {

/// The record's command port, or null: an empty handle, a runtime that is
/// gone, or (`starts_something`) one whose shutdown began.
std::shared_ptr<detail::command_port> port_of(
    const detail::process_record* record, bool starts_something) {
  if (record == nullptr) return nullptr;  // an empty handle
  auto port = record->port.load();
  if (port && starts_something && !port->takes_starts()) return nullptr;
  return port;
}

template <class... Ts>
bool send_to_owner(const detail::process_record* record, bool starts_something,
                   Ts&&... xs) {
  const auto port = port_of(record, starts_something);
  if (!port) return false;
  caf::anon_send(port->owner(), std::forward<Ts>(xs)...);
  return true;
}

/// Whether a command of `kind` starts something (refused once the runtime's
/// shutdown began, command_port::takes_starts()).
bool starts(int kind) {
  const auto k = static_cast<detail::command_kind>(kind);
  return k == detail::command_kind::start || k == detail::command_kind::restart;
}

}  // namespace

process_command process_handle::send_command(int kind) const {
  const auto port = port_of(record_.get(), starts(kind));
  if (!port) return {};
  const std::uint64_t ticket = port->next_ticket();
  caf::anon_send(port->owner(), detail::command_atom::value, ticket, kind);
  return process_command{*this, ticket};
}

process_command process_handle::start() const {
  return send_command(static_cast<int>(detail::command_kind::start));
}
process_command process_handle::stop() const {
  return send_command(static_cast<int>(detail::command_kind::stop));
}
process_command process_handle::restart() const {
  return send_command(static_cast<int>(detail::command_kind::restart));
}
process_command process_handle::kill() const {
  return send_command(static_cast<int>(detail::command_kind::kill));
}
bool process_handle::signal(int sig) const {
  if (sig <= 0 || sig >= NSIG) return false;  // no such signal: nothing sent
  return send_to_owner(record_.get(), true, detail::signal_atom::value, sig);
}
bool process_handle::subscribe(const caf::actor& subscriber) const {
  return send_to_owner(record_.get(), false, detail::subscribe_atom::value,
                       subscriber);
}
bool process_handle::unsubscribe(const caf::actor& subscriber) const {
  return send_to_owner(record_.get(), false, detail::unsubscribe_atom::value,
                       subscriber);
}

void process_handle::throw_empty() {
  throw empty_handle_error{};
}

const core::publication_cell<core::process_state>& process_handle::cell_to_read(
    const detail::process_record* record, const read_policy* reads) {
  if (record == nullptr) throw_empty();
  return reads->cell_to_read(*record);
}

}  // namespace vitrine
