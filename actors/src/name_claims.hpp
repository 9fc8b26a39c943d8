// name_claims: the names promised to children that are not registered yet.
// Internal to the runtime (runtime_context::claims).
//
// A tree handed to runtime::supervise() or supervisor_handle::add_child()
// registers its names over time: its top child at once, a nested
// supervisor's children only when that supervisor first starts. Whoever
// adds a tree claims every name in it first, in one step that also checks
// the registries; a name registered or claimed already fails the claim as
// a whole. The supervisor that registers a claimed name releases it, and
// one that goes away before it built its children releases theirs. So two
// callers adding one name at once cannot both pass their checks, and no
// child is dropped because another took its name in between.
//
// Threads: any; one mutex, held for a claim (a registry lookup per name)
// or a release. Cost: a hash set of the names being added, usually empty.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace vitrine::detail {

class name_claims {
 public:
  /// Why a name cannot be claimed (taken in a registry), empty when free.
  using taken_fn = std::function<std::string(std::string_view)>;

  /// One problem per name of `names` that is registered (`taken` says why)
  /// or claimed already; empty after claiming all of them. Claims none
  /// unless it can claim all.
  std::vector<std::pair<std::string, std::string>> claim(
      const std::vector<std::string>& names, const taken_fn& taken);

  /// Ends the claim on `name` (registered by now, or never to be); one
  /// not claimed is ignored.
  void release(const std::string& name);
  void release(const std::vector<std::string>& names);

 private:
  std::mutex mutex_;
  std::unordered_set<std::string> names_;
};

}  // namespace vitrine::detail
