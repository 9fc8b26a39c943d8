#include "vitrine/process_handle.hpp"

#include <caf/all.hpp>

#include <csignal>
#include <stdexcept>

#include "atoms.hpp"
#include "command_port.hpp"

namespace vitrine {
namespace {

template <class... Ts>
bool send_to_owner(const detail::process_record* record, Ts&&... xs) {
  if (record == nullptr) return false;  // an empty handle
  auto port = record->port.load();
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
  if (!record_) return {};
  auto port = record_->port.load();
  if (!port || (starts(kind) && !port->takes_starts())) return {};
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
  if (record_ == nullptr) return false;
  auto port = record_->port.load();
  if (!port || !port->takes_starts()) return false;
  caf::anon_send(port->owner(), detail::signal_atom::value, sig);
  return true;
}
bool process_handle::subscribe(const caf::actor& subscriber) const {
  return send_to_owner(record_.get(), detail::subscribe_atom::value,
                       subscriber);
}
bool process_handle::unsubscribe(const caf::actor& subscriber) const {
  return send_to_owner(record_.get(), detail::unsubscribe_atom::value,
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
