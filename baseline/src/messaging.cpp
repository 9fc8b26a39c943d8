#include "vitrine/baseline/messaging.hpp"

#include <caf/all.hpp>

#include <string>

#include "ask_blocking.hpp"
#include "atoms.hpp"
#include "command_port.hpp"
#include "directory_actor.hpp"
#include "runtime_access.hpp"
#include "supervisor_actor.hpp"

namespace vitrine::baseline {
namespace {

/// One request/response round trip to `target`, through a scoped actor
/// made for it; an error if the actor is gone.
template <class Reply, class... Ts>
caf::expected<Reply> ask_actor(const caf::actor& target, Ts&&... xs) {
  caf::scoped_actor self{target.home_system()};
  return detail::ask_blocking<Reply>(self, target, std::forward<Ts>(xs)...);
}

/// Asks the owning actor; once it is gone, reads the record, where it left
/// its last state as it quit (see process_actor.cpp, leave_last_state; the
/// cell holds the initial state if it never ran).
template <class State, class Record>
State ask_owner(const Record& record) {
  if (auto port = record.port.load())
    if (auto state = ask_actor<State>(port->owner(), caf::get_atom::value))
      return std::move(*state);
  return *record.state.read();
}

class messaging_policy final : public read_policy {
 public:
  constexpr messaging_policy() noexcept : read_policy("messaging", false) {}

  core::process_state ask(const detail::process_record& r) const override {
    return ask_owner<core::process_state>(r);
  }
  core::supervisor_state ask(
      const detail::supervisor_record& r) const override {
    return ask_owner<core::supervisor_state>(r);
  }

  caf::actor spawn_directory(
      caf::actor_system& system,
      const core::registry<detail::process_record>& registry) const override {
    return detail::spawn_directory_actor(system, registry);
  }

  std::shared_ptr<detail::process_record> find(
      const detail::name_source& names, std::string_view name) const override {
    if (names.directory)
      if (auto found = ask_actor<std::shared_ptr<detail::process_record>>(
              names.directory, caf::get_atom::value, std::string{name}))
        return std::move(*found);
    return read_policy::find(names, name);  // shut down: the registry
  }

  std::uint64_t visit(const detail::name_source& names,
                      detail::record_visitor visitor) const override {
    if (names.directory)
      if (auto listing = ask_actor<detail::directory_listing>(
              names.directory, caf::get_atom::value)) {
        for (const auto& record : listing->records) visitor(record);
        return listing->revision;
      }
    return read_policy::visit(names, visitor);
  }
};

constinit const messaging_policy messaging_instance;

}  // namespace

const read_policy& messaging_reads() noexcept {
  return messaging_instance;
}

caf::actor owner_actor(const process_handle& process) {
  auto port = detail::runtime_access::record(process)->port.load();
  return port ? port->owner() : caf::actor{};
}

struct blocking_reader::impl {
  explicit impl(runtime& r) : rt(r), self(r.system()) {}
  runtime& rt;
  caf::scoped_actor self;
};

blocking_reader::blocking_reader(runtime& rt)
    : impl_(std::make_unique<impl>(rt)) {}
blocking_reader::~blocking_reader() = default;

core::process_state blocking_reader::read(const process_handle& process) {
  auto port = detail::runtime_access::record(process)->port.load();
  if (!port) return *process.read();
  auto state = detail::ask_blocking<core::process_state>(
      impl_->self, port->owner(), caf::get_atom::value);
  // The actor quit between the load and the request: its last state.
  return state ? std::move(*state) : *process.read();
}

process_handle blocking_reader::find(std::string_view name) {
  const auto names = detail::runtime_access::names(impl_->rt);
  if (!names.directory) return impl_->rt.find(name);
  auto found = detail::ask_blocking<std::shared_ptr<detail::process_record>>(
      impl_->self, names.directory, caf::get_atom::value, std::string{name});
  if (!found) return impl_->rt.find(name);  // the directory is gone
  return detail::runtime_access::make_handle(std::move(*found),
                                             impl_->rt.reads());
}

}  // namespace vitrine::baseline
