#include "name_claims.hpp"

namespace vitrine::detail {

std::vector<std::pair<std::string, std::string>> name_claims::claim(
    const std::vector<std::string>& names, const taken_fn& taken) {
  std::vector<std::pair<std::string, std::string>> problems;
  std::lock_guard lock{mutex_};
  for (const auto& name : names) {
    if (names_.contains(name))
      problems.emplace_back(
          name, "a child named '" + name + "' is being added by another call");
    else if (auto why = taken(name); !why.empty())
      problems.emplace_back(name, std::move(why));
  }
  if (problems.empty()) names_.insert(names.begin(), names.end());
  return problems;
}

void name_claims::release(const std::string& name) {
  std::lock_guard lock{mutex_};
  names_.erase(name);
}

void name_claims::release(const std::vector<std::string>& names) {
  std::lock_guard lock{mutex_};
  for (const auto& name : names) names_.erase(name);
}

}  // namespace vitrine::detail
