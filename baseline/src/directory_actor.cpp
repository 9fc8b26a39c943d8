#include "directory_actor.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "atoms.hpp"
#include "supervisor_actor.hpp"

namespace vitrine::detail {
namespace {

// A class, not a function-based actor: CAF 0.17 spawns a function without
// arguments by dereferencing a null shared_ptr<std::tuple<>> (UBSan reports
// it), which a class-based actor does not go through.
class directory_actor final : public caf::event_based_actor {
 public:
  using caf::event_based_actor::event_based_actor;

  caf::behavior make_behavior() override {
    return {
        [this](caf::put_atom, const std::string& name,
               std::shared_ptr<process_record>& record) {
          // A replaced child's new record takes the name over.
          auto& slot = names_[name];
          if (slot) unlist(slot);
          slot = record;
          listing_.records.push_back(std::move(record));
          ++listing_.revision;
        },
        [this](forget_atom, const std::string& name,
               const std::shared_ptr<process_record>& record) {
          auto it = names_.find(name);
          if (it == names_.end() || it->second != record) return;
          names_.erase(it);
          unlist(record);
          ++listing_.revision;
        },
        [this](caf::get_atom, const std::string& name) {
          auto it = names_.find(name);
          return it == names_.end() ? nullptr : it->second;
        },
        [this](caf::get_atom) { return listing_; },
    };
  }

 private:
  /// Drops `record` from the listing (a replaced or removed child).
  void unlist(const std::shared_ptr<process_record>& record) {
    auto& records = listing_.records;
    records.erase(std::remove(records.begin(), records.end(), record),
                  records.end());
  }

  std::unordered_map<std::string, std::shared_ptr<process_record>> names_;
  directory_listing listing_;
};

}  // namespace

caf::actor spawn_directory_actor(caf::actor_system& system) {
  return system.spawn<directory_actor>();
}

}  // namespace vitrine::detail
