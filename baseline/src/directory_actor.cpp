#include "directory_actor.hpp"

#include <string>

#include "supervisor_actor.hpp"  // record pointers as messages

namespace vitrine::detail {
namespace {

// A class, not a function-based actor: CAF 0.17 spawns a function without
// arguments by dereferencing a null shared_ptr<std::tuple<>> (UBSan reports
// it), which a class-based actor does not go through.
class directory_actor final : public caf::event_based_actor {
 public:
  directory_actor(caf::actor_config& config,
                  const core::registry<process_record>& names)
      : caf::event_based_actor(config), names_(names) {}

  caf::behavior make_behavior() override {
    return {
        [this](caf::get_atom, const std::string& name) {
          return names_.find_shared(name);
        },
        [this](caf::get_atom) {
          const auto view = names_.snapshot();
          directory_listing listing{.revision = view->revision(),
                                    .records = {}};
          listing.records.reserve(view->entries().size());
          for (const auto& entry : view->entries())
            listing.records.push_back(entry->value);
          return listing;
        },
    };
  }

 private:
  const core::registry<process_record>& names_;
};

}  // namespace

caf::actor spawn_directory_actor(caf::actor_system& system,
                                 const core::registry<process_record>& names) {
  return system.spawn<directory_actor>(std::cref(names));
}

}  // namespace vitrine::detail
