#include "reload.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>
#include <variant>

#include "vitrine/child_change.hpp"

namespace vitrine::cli {
namespace {

const std::string& name_of(const child_spec& spec) {
  return std::visit([](const auto& s) -> const std::string& { return s.name; },
                    spec);
}

/// name -> position among `children`.
std::map<std::string, std::size_t> positions(
    const std::vector<child_spec>& children) {
  std::map<std::string, std::size_t> out;
  for (std::size_t i = 0; i < children.size(); ++i)
    out.emplace(name_of(children[i]), i);
  return out;
}

bool same_top_settings(const supervisor_spec& a, const supervisor_spec& b) {
  return a.name == b.name && a.strategy == b.strategy &&
         a.intensity == b.intensity && a.period == b.period &&
         a.parallel_start == b.parallel_start;
}

void count_tree(const supervisor_spec& spec, config& out) {
  for (const auto& c : spec.children) {
    if (std::holds_alternative<process_spec>(c)) {
      ++out.program_count;
    } else {
      ++out.group_count;
      count_tree(std::get<supervisor_spec>(c), out);
    }
  }
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

/// Waits for a change however long it takes: every change ends (the old
/// child's stop is bounded by its stop timeout, the new one's start by its
/// startsecs or exit, a shutdown completes it as supervisor_gone).
void wait_applied(const child_change& change) {
  while (!change.wait_for(std::chrono::seconds{1})) {
  }
}

child_change send_add(const supervisor_handle& top, child_spec spec) {
  return std::visit([&](auto& s) { return top.add_child(std::move(s)); }, spec);
}

child_change send_replace(const supervisor_handle& top, child_spec spec) {
  return std::visit([&](auto& s) { return top.replace_child(std::move(s)); },
                    spec);
}

}  // namespace

config_diff diff_configs(const supervisor_spec& running,
                         const supervisor_spec& next) {
  config_diff diff;
  diff.top_settings_changed = !same_top_settings(running, next);
  const auto old_at = positions(running.children);
  const auto new_at = positions(next.children);
  std::vector<std::size_t> kept_old_order;  // new positions, in old order
  for (const auto& c : running.children) {
    const auto& name = name_of(c);
    const auto it = new_at.find(name);
    if (it == new_at.end()) {
      diff.removed.push_back(name);
    } else if (c == next.children[it->second]) {
      diff.unchanged.push_back(name);
      kept_old_order.push_back(it->second);
    } else {
      diff.changed.push_back(name);
    }
  }
  for (const auto& c : next.children)
    if (!old_at.contains(name_of(c))) diff.added.push_back(name_of(c));
  diff.reordered =
      !std::is_sorted(kept_old_order.begin(), kept_old_order.end());
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
  if (diff.top_settings_changed)
    out.push_back(
        "reload: the top supervisor's own settings changed; not applied "
        "(restart vitrine to apply them)");
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

std::string reload_report::errors() const {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  for (const auto& f : failures) out += "reload failed: " + f + "\n";
  return out;
}

reload_report reload_config(supervisor_handle top, config& current,
                            const std::string& file, const fd_limit& limit) {
  reload_report report;
  auto loaded = load_config_file(file);
  if (!loaded.ok()) {
    for (const auto& problem : loaded.problems)
      report.problems.push_back(to_string(problem));
    return report;
  }
  auto& next = loaded.value.tree;
  keep_program_fd_limit(next, limit);
  report.diff = diff_configs(current.tree, next);
  const auto& diff = report.diff;

  // Sent at once, in this order: the supervisor applies them one after
  // another, so the removals free their names before the rest begins.
  const auto new_at = positions(next.children);
  std::vector<std::pair<std::string, child_change>> removals, replacements,
      additions;
  for (const auto& name : diff.removed)
    removals.emplace_back(name, top.remove_child(name));
  for (const auto& name : diff.changed)
    replacements.emplace_back(
        name, send_replace(top, next.children[new_at.at(name)]));
  for (const auto& name : diff.added)
    additions.emplace_back(name, send_add(top, next.children[new_at.at(name)]));

  // What runs afterwards, by name: the old children in running order with
  // the replaced ones in place, then the added ones.
  std::map<std::string, bool> running;  // name -> placed
  for (const auto& c : current.tree.children) running[name_of(c)] = true;
  auto settle = [&](std::vector<std::pair<std::string, child_change>>& list,
                    bool placed_when_done) {
    for (auto& [name, change] : list) {
      wait_applied(change);
      const bool done = change.outcome() == change_outcome::done;
      running[name] = done && placed_when_done;
      if (!done) report.failures.push_back(name + ": " + change.error());
    }
  };
  settle(removals, false);
  settle(replacements, true);
  // A replacement whose new tree needed a name that another changed child
  // still held when it was placed: its old child is gone; add it now (at
  // the end) that every other change is applied.
  for (auto& [name, change] : replacements) {
    if (change.outcome() != change_outcome::name_taken) continue;
    auto retry = send_add(top, next.children[new_at.at(name)]);
    wait_applied(retry);
    if (retry.outcome() != change_outcome::done) continue;
    std::erase_if(report.failures, [&](const std::string& f) {
      return f.rfind(name + ": ", 0) == 0;
    });
    running[name] = true;
    additions.emplace_back(name, retry);
  }
  settle(additions, true);

  std::vector<child_spec> children;
  for (auto& c : current.tree.children) {
    const auto& name = name_of(c);
    if (!running[name]) continue;
    const auto it = new_at.find(name);
    children.push_back(it == new_at.end() ? std::move(c)
                                          : next.children[it->second]);
  }
  for (auto& [name, change] : additions)
    if (running[name] &&
        std::none_of(children.begin(), children.end(),
                     [&](const child_spec& c) { return name_of(c) == name; }))
      children.push_back(next.children[new_at.at(name)]);
  current.tree.children = std::move(children);
  current.program_count = current.group_count = 0;
  count_tree(current.tree, current);
  return report;
}

std::string reload_from_file(supervisor_handle top, config& current,
                             const std::string& file, const fd_limit& limit) {
  return reload_config(std::move(top), current, file, limit).errors();
}

}  // namespace vitrine::cli

namespace vitrine::cli {

reload_report reload_runner::reload_now(const supervisor_handle& top,
                                        config& current) {
  std::lock_guard lock{mutex_};
  auto report = reload_config(top, current, file_, limit_);
  for (auto& line : report.summary()) output_.notes.push_back(line);
  for (auto& p : report.problems) output_.errors.push_back(p);
  for (auto& f : report.failures)
    output_.errors.push_back("reload failed: " + f);
  return report;
}

void reload_runner::start_if_requested(const supervisor_handle& top,
                                       config& current) {
  if (!requested_ || running_.load(std::memory_order_acquire)) return;
  if (thread_.joinable()) thread_.join();
  requested_ = false;
  running_.store(true, std::memory_order_relaxed);
  thread_ = std::thread{[this, top, &current] {
    reload_now(top, current);
    running_.store(false, std::memory_order_release);
  }};
}

reload_runner::output reload_runner::take_output() {
  std::unique_lock lock{mutex_, std::try_to_lock};
  if (!lock) return {};  // a reload runs: its output comes when it ends
  return std::exchange(output_, {});
}

void reload_runner::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace vitrine::cli
