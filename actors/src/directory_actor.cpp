#include "directory_actor.hpp"

#include <string>
#include <unordered_map>

#include "supervisor_actor.hpp"

namespace vitrine::detail {
namespace {

struct directory_state {
  std::unordered_map<std::string, std::shared_ptr<process_record>> names;
};

caf::behavior directory(caf::stateful_actor<directory_state>* self) {
  return {
      [self](caf::put_atom, const std::string& name,
             std::shared_ptr<process_record>& record) {
        self->state.names.emplace(name, std::move(record));
      },
      [self](caf::get_atom, const std::string& name) {
        auto it = self->state.names.find(name);
        return it == self->state.names.end() ? nullptr : it->second;
      },
  };
}

}  // namespace

caf::actor spawn_directory_actor(caf::actor_system& system) {
  return system.spawn(directory);
}

}  // namespace vitrine::detail
