// The difference a reload applies, and its summary (reload.hpp).
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "reload.hpp"

namespace vitrine::cli {

const std::string& child_name(const child_spec& spec) {
  return std::visit([](const auto& s) -> const std::string& { return s.name; },
                    spec);
}

std::map<std::string, std::size_t> child_positions(
    const std::vector<child_spec>& children) {
  std::map<std::string, std::size_t> out;
  for (std::size_t i = 0; i < children.size(); ++i)
    out.emplace(child_name(children[i]), i);
  return out;
}

namespace {

/// The top's settings as written: a derived intensity or period is not
/// one (it follows the children), so it differs only from a written one.
bool same_written_top_settings(const config& a, const config& b) {
  const auto& x = a.tree;
  const auto& y = b.tree;
  const bool same_intensity =
      a.intensity_derived == b.intensity_derived &&
      (a.intensity_derived || x.intensity == y.intensity);
  const bool same_period = a.period_derived == b.period_derived &&
                           (a.period_derived || x.period == y.period);
  return x.name == y.name && x.strategy == y.strategy && same_intensity &&
         same_period && x.parallel_start == y.parallel_start;
}

/// A limit derived in both files follows the programs, whatever else of
/// the top's settings changed; one written in either file stays as it
/// runs (a written change is not applied).
bool intensity_follows(const config& running, const config& next) {
  return running.intensity_derived && next.intensity_derived;
}
bool period_follows(const config& running, const config& next) {
  return running.period_derived && next.period_derived;
}

/// The new file derives a limit that the running top does not grant: more
/// restarts, or the same number within a shorter window.
bool derived_limit_more_lenient(const config& running, const config& next) {
  return (intensity_follows(running, next) &&
          next.tree.intensity > running.tree.intensity) ||
         (period_follows(running, next) &&
          next.tree.period < running.tree.period);
}

bool derived_limit_changed(const config& running, const config& next) {
  return (intensity_follows(running, next) &&
          next.tree.intensity != running.tree.intensity) ||
         (period_follows(running, next) &&
          next.tree.period != running.tree.period);
}

/// "a, b, c" (the first few names, then how many more).
std::string list_names(const std::vector<std::string>& names) {
  constexpr std::size_t shown = 10;
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i)
    out += (i ? ", " : "") + names[i];
  if (names.size() > shown)
    out += " and " + std::to_string(names.size() - shown) + " more";
  return out;
}

/// Every program and group inside the top's groups -> the top-level group
/// it is in.
std::map<std::string, std::string> groups_of_names(
    const std::vector<child_spec>& children) {
  std::map<std::string, std::string> out;
  const auto visit = [&out](const auto& self, const supervisor_spec& tree,
                            const std::string& group) -> void {
    for (const auto& c : tree.children) {
      out.emplace(child_name(c), group);
      if (const auto* sub = std::get_if<supervisor_spec>(&c))
        self(self, *sub, group);
    }
  };
  for (const auto& c : children)
    if (const auto* group = std::get_if<supervisor_spec>(&c))
      visit(visit, *group, group->name);
  return out;
}

/// Whether a group named `name` is anywhere in `children`'s trees.
bool contains_group(const std::vector<child_spec>& children,
                    const std::string& name) {
  for (const auto& c : children)
    if (const auto* group = std::get_if<supervisor_spec>(&c))
      if (group->name == name || contains_group(group->children, name))
        return true;
  return false;
}

}  // namespace

config_diff diff_configs(const config& running_config,
                         const config& next_config) {
  config_diff diff;
  diff.top_settings_changed =
      !same_written_top_settings(running_config, next_config);
  diff.derived_limit_changed =
      derived_limit_changed(running_config, next_config);
  diff.derived_limit_more_lenient =
      diff.derived_limit_changed &&
      derived_limit_more_lenient(running_config, next_config);
  // Only the derived part follows the file; a written one stays.
  diff.derived_intensity = intensity_follows(running_config, next_config)
                               ? next_config.tree.intensity
                               : running_config.tree.intensity;
  diff.derived_period = period_follows(running_config, next_config)
                            ? next_config.tree.period
                            : running_config.tree.period;
  const auto& running = running_config.tree;
  const auto& next = next_config.tree;
  const auto old_at = child_positions(running.children);
  const auto new_at = child_positions(next.children);
  for (const auto& c : running.children) {
    const auto& name = child_name(c);
    const auto it = new_at.find(name);
    if (it == new_at.end())
      diff.removed.push_back(name);
    else if (c == next.children[it->second])
      diff.unchanged.push_back(name);
    else
      diff.changed.push_back(name);
  }
  for (const auto& c : next.children)
    if (!old_at.contains(child_name(c))) diff.added.push_back(child_name(c));
  // Between the top and a group: removed (or added) at the top, it runs
  // again inside (or came from inside) a group the reload replaces or adds.
  const auto now_in = groups_of_names(next.children);
  const auto was_in = groups_of_names(running.children);
  // Only a program keeps its name as it moves: a group that became a
  // program of that name (or the reverse) is a removal and an addition.
  const auto program_at = [](const std::vector<child_spec>& children,
                             std::size_t i) {
    return std::holds_alternative<process_spec>(children[i]);
  };
  const auto program_inside = [](const std::map<std::string, std::string>& in,
                                 const std::vector<child_spec>& children,
                                 const std::string& name) {
    return in.contains(name) && !contains_group(children, name);
  };
  for (const auto& name : diff.removed)
    if (const auto it = now_in.find(name);
        it != now_in.end() && program_at(running.children, old_at.at(name)) &&
        program_inside(now_in, next.children, name))
      diff.moved.push_back(name + " into " + it->second);
  for (const auto& name : diff.added)
    if (const auto it = was_in.find(name);
        it != was_in.end() && program_at(next.children, new_at.at(name)) &&
        program_inside(was_in, running.children, name))
      diff.moved.push_back(name + " out of " + it->second);
  // From one group into another: both are replaced (or removed and
  // added), so it restarts in its new place as well.
  for (const auto& [name, group] : now_in)
    if (const auto it = was_in.find(name);
        it != was_in.end() && it->second != group &&
        program_inside(now_in, next.children, name) &&
        program_inside(was_in, running.children, name))
      diff.moved.push_back(name + " from " + it->second + " into " + group);
  // Reordered by the user: the unchanged ones' order in the previous file
  // (not the running order, where a reload put added programs last).
  const std::set<std::string> unchanged(diff.unchanged.begin(),
                                        diff.unchanged.end());
  std::vector<std::size_t> kept_old_order;  // new positions, in file order
  const auto keep = [&](const std::string& name) {
    if (unchanged.contains(name)) kept_old_order.push_back(new_at.at(name));
  };
  if (running_config.written_order.empty())
    for (const auto& c : running.children) keep(child_name(c));
  else
    for (const auto& name : running_config.written_order) keep(name);
  // A file written in the running order asks for nothing new either.
  std::vector<std::size_t> running_order;
  for (const auto& c : running.children)
    if (unchanged.contains(child_name(c)))
      running_order.push_back(new_at.at(child_name(c)));
  diff.reordered =
      !std::is_sorted(kept_old_order.begin(), kept_old_order.end()) &&
      !std::is_sorted(running_order.begin(), running_order.end());
  return diff;
}

std::vector<std::string> reload_report::summary() const {
  std::vector<std::string> out;
  if (rejected()) {
    out.push_back("reload: rejected, nothing changed (" +
                  std::to_string(problems.size()) +
                  (problems.size() == 1 ? " problem)" : " problems)"));
    return out;
  }
  if (!stopped_tree.empty()) out.push_back(stopped_tree);
  auto line = [&](const char* what, const std::vector<std::string>& names) {
    std::string text =
        "reload: " + std::string{what} + " " + std::to_string(names.size());
    if (!names.empty()) text += " (" + list_names(names) + ")";
    out.push_back(std::move(text));
  };
  line("added", diff.added);
  line("removed", diff.removed);
  line("changed", diff.changed);
  out.push_back("reload: unchanged " + std::to_string(diff.unchanged.size()));
  if (!diff.moved.empty())
    out.push_back("reload: moved " + std::to_string(diff.moved.size()) + " (" +
                  list_names(diff.moved) +
                  "): stopped where it was and started again in its new "
                  "place (a new pid)");
  if (diff.top_settings_changed)
    out.push_back(
        "reload: the top supervisor's own settings changed; not applied "
        "(restart vitrine to apply them)");
  if (diff.derived_limit_changed)
    out.push_back(
        "reload: the top supervisor's limit derived from the programs is now " +
        std::to_string(diff.derived_intensity) + " restarts in " +
        std::to_string(diff.derived_period.count()) + " ms");
  if (diff.reordered)
    out.push_back(
        "reload: unchanged programs were reordered; the running order is "
        "kept (restart vitrine to apply it)");
  if (!failures.empty())
    out.push_back(
        "reload: " + std::to_string(failures.size()) +
        (failures.size() == 1 ? " change failed" : " changes failed"));
  return out;
}

}  // namespace vitrine::cli
