#include "vitrine/supervisor_handle.hpp"

#include <caf/all.hpp>

#include "atoms.hpp"
#include "child_change_request.hpp"
#include "command_port.hpp"
#include "vitrine/process_handle.hpp"  // empty_handle_error

namespace vitrine {

template <class Send>
supervisor_command supervisor_handle::send_ticketed(Send send) const {
  if (!record_) return {};
  auto port = record_->port.load();
  if (!port) return {};
  const std::uint64_t ticket = port->next_ticket();
  send(port->owner(), ticket);
  return supervisor_command{*this, ticket};
}

supervisor_command supervisor_handle::send_command(int kind) const {
  return send_ticketed([kind](const caf::actor& owner, std::uint64_t ticket) {
    caf::anon_send(owner, detail::command_atom::value, ticket, kind);
  });
}

void supervisor_handle::throw_empty() {
  throw empty_handle_error{};
}

supervisor_command supervisor_handle::start() const {
  // Refused once the runtime's shutdown began (command_port::takes_starts).
  if (!record_) return {};
  if (auto port = record_->port.load(); !port || !port->takes_starts())
    return {};
  return send_command(static_cast<int>(detail::command_kind::start));
}

supervisor_command supervisor_handle::stop() const {
  return send_command(static_cast<int>(detail::command_kind::stop));
}

supervisor_command supervisor_handle::set_intensity(
    unsigned intensity, supervisor_spec::duration period) const {
  if (auto problems = validate_intensity(name(), intensity, period);
      !problems.empty())
    throw spec_error(std::move(problems));
  const auto period_ms = static_cast<std::int64_t>(period.count());
  return send_ticketed([=](const caf::actor& owner, std::uint64_t ticket) {
    caf::anon_send(owner, detail::intensity_atom::value, ticket, intensity,
                   period_ms);
  });
}

child_change supervisor_handle::send_change(
    int kind, std::string name, std::unique_ptr<child_spec> spec) const {
  if (!record_) return {};
  auto result = std::make_shared<detail::change_result>();
  result->reads = reads_;
  auto request = std::make_shared<detail::change_request>();
  request->kind = static_cast<detail::change_kind>(kind);
  request->name = std::move(name);
  if (spec) request->spec = std::move(*spec);
  // From here on, whoever drops the request unapplied completes it.
  request->completion = std::make_shared<detail::change_completion>(result);
  if (auto port = record_->port.load())
    caf::anon_send(port->owner(), detail::change_atom::value,
                   std::move(request));
  return child_change{std::move(result)};
}

namespace {
template <class Spec>
std::unique_ptr<child_spec> validated(Spec spec) {
  if (auto problems = validate(spec); !problems.empty())
    throw spec_error(std::move(problems));
  return std::make_unique<child_spec>(std::move(spec));
}
}  // namespace

child_change supervisor_handle::add_child(process_spec spec) const {
  return send_change(static_cast<int>(detail::change_kind::add), {},
                     validated(std::move(spec)));
}

child_change supervisor_handle::add_child(supervisor_spec spec) const {
  return send_change(static_cast<int>(detail::change_kind::add), {},
                     validated(std::move(spec)));
}

child_change supervisor_handle::remove_child(std::string name) const {
  return send_change(static_cast<int>(detail::change_kind::remove),
                     std::move(name), nullptr);
}

child_change supervisor_handle::replace_child(process_spec spec) const {
  std::string name = spec.name;
  return send_change(static_cast<int>(detail::change_kind::replace),
                     std::move(name), validated(std::move(spec)));
}

child_change supervisor_handle::replace_child(supervisor_spec spec) const {
  std::string name = spec.name;
  return send_change(static_cast<int>(detail::change_kind::replace),
                     std::move(name), validated(std::move(spec)));
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
