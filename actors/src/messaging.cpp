#include "vitrine/messaging.hpp"

#include <caf/all.hpp>

#include "atoms.hpp"
#include "command_port.hpp"
#include "supervisor_actor.hpp"

namespace vitrine {

caf::actor owner_actor(const process_handle& process) {
  auto port = process.record()->port.load();
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
  auto port = process.record()->port.load();
  if (!port) return *process.read();
  core::process_state result;
  impl_->self->request(port->owner(), caf::infinite, caf::get_atom::value)
      .receive([&](core::process_state& s) { result = std::move(s); },
               [&](caf::error&) {});
  return result;
}

process_handle blocking_reader::find(std::string_view name) {
  const caf::actor& directory = impl_->rt.directory_actor();
  if (!directory) return impl_->rt.find(name);
  std::shared_ptr<detail::process_record> found;
  impl_->self
      ->request(directory, caf::infinite, caf::get_atom::value,
                std::string{name})
      .receive(
          [&](std::shared_ptr<detail::process_record>& r) {
            found = std::move(r);
          },
          [&](caf::error&) {});
  return process_handle{std::move(found)};
}

}  // namespace vitrine
