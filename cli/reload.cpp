#include "reload.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "vitrine/child_change.hpp"

namespace vitrine::cli {
namespace {

enum class change_kind { add, remove, replace };

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

/// Sets the running top's limit to the one `diff` derived and records it in
/// `current`; a failure goes to the report.
void apply_derived_limit(const supervisor_handle& top, config& current,
                         reload_report& report) {
  const auto& diff = report.diff;
  try {
    auto applied =
        top.set_intensity(diff.derived_intensity, diff.derived_period);
    if (!applied.wait_until(std::chrono::steady_clock::now() +
                            std::chrono::seconds{10}))
      throw std::runtime_error("the top supervisor did not apply it");
    current.tree.intensity = diff.derived_intensity;
    current.tree.period = diff.derived_period;
  } catch (const std::exception& e) {
    report.failures.push_back("the top's derived restart limit: " +
                              std::string{e.what()});
  }
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
  const auto old_at = positions(running.children);
  const auto new_at = positions(next.children);
  for (const auto& c : running.children) {
    const auto& name = name_of(c);
    const auto it = new_at.find(name);
    if (it == new_at.end())
      diff.removed.push_back(name);
    else if (c == next.children[it->second])
      diff.unchanged.push_back(name);
    else
      diff.changed.push_back(name);
  }
  for (const auto& c : next.children)
    if (!old_at.contains(name_of(c))) diff.added.push_back(name_of(c));
  // Reordered by the user: the unchanged ones' order in the previous file
  // (not the running order, where a reload put added programs last).
  const std::set<std::string> unchanged(diff.unchanged.begin(),
                                        diff.unchanged.end());
  std::vector<std::size_t> kept_old_order;  // new positions, in file order
  const auto keep = [&](const std::string& name) {
    if (unchanged.contains(name)) kept_old_order.push_back(new_at.at(name));
  };
  if (running_config.written_order.empty())
    for (const auto& c : running.children) keep(name_of(c));
  else
    for (const auto& name : running_config.written_order) keep(name);
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

std::string reload_report::errors() const {
  // A rejected file as `vitrine check` reports it: its problems, then how
  // many.
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  if (!problems.empty())
    out += std::to_string(problems.size()) +
           (problems.size() == 1 ? " problem\n" : " problems\n");
  for (const auto& f : failures) out += "reload failed: " + f + "\n";
  return out;
}

reload_report reload_config(supervisor_handle top, config& current,
                            const std::string& file, const fd_limit& limit) {
  reload_report report;
  if (!top) {  // the tree is still being added
    report.problems.push_back(
        "vitrine: the programs are still being added; reload once they run");
    return report;
  }
  parse_options options;
  options.running_top_name = current.tree.name;
  auto loaded = load_config_file(file, options);
  if (!loaded.ok()) {
    for (const auto& problem : loaded.problems)
      report.problems.push_back(describe(problem));
    return report;
  }
  auto& next = loaded.value.tree;
  keep_program_fd_limit(next, limit);
  report.diff = diff_configs(current, loaded.value);
  const auto& diff = report.diff;

  // Sent at once, in this order: the supervisor applies them one after
  // another, so the removals free their names before the rest begins.
  const auto new_at = positions(next.children);
  const auto new_spec = [&](const std::string& name) -> const child_spec& {
    return next.children[new_at.at(name)];
  };
  enum class runs { old_spec, new_spec, nothing };  // per name, afterwards
  std::map<std::string, runs> after;
  for (const auto& c : current.tree.children)
    after[name_of(c)] = runs::old_spec;
  struct sent_change {
    std::string name;
    change_kind kind;
    child_change change;
  };
  std::vector<sent_change> sent;
  const auto send = [&](const std::string& name, change_kind kind) {
    try {  // the spec was checked, but a program may vanish meanwhile
      sent.push_back({name, kind,
                      kind == change_kind::remove ? top.remove_child(name)
                      : kind == change_kind::replace
                          ? send_replace(top, new_spec(name))
                          : send_add(top, new_spec(name))});
    } catch (const std::exception& e) {
      report.failures.push_back(name + ": " + e.what());
    }
  };
  // A more lenient limit first: the added programs' restarts count
  // against it; a stricter one once the programs that needed more left.
  if (diff.derived_limit_more_lenient)
    apply_derived_limit(top, current, report);
  // Removed ones in reverse order, as a run's end stops its programs.
  for (auto it = diff.removed.rbegin(); it != diff.removed.rend(); ++it)
    send(*it, change_kind::remove);
  for (const auto& name : diff.changed) send(name, change_kind::replace);
  for (const auto& name : diff.added) send(name, change_kind::add);

  std::vector<std::string> retries;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    auto& [name, kind, change] = sent[i];
    wait_applied(change);
    const auto outcome = change.outcome();
    if (outcome == change_outcome::done) {
      after[name] =
          kind == change_kind::remove ? runs::nothing : runs::new_spec;
      continue;
    }
    if (kind != change_kind::add) after[name] = runs::nothing;
    // A replacement whose new tree needed a name that another changed
    // child still held: its old child is gone; add it again (at the end)
    // once every other change is applied.
    if (kind == change_kind::replace && outcome == change_outcome::name_taken) {
      retries.push_back(name);
      continue;
    }
    report.failures.push_back(name + ": " + change.error());
  }
  for (const auto& name : retries) {
    const std::size_t before = sent.size();
    send(name, change_kind::add);
    if (sent.size() == before) continue;  // threw: a failure already
    wait_applied(sent.back().change);
    if (sent.back().change.outcome() == change_outcome::done)
      after[name] = runs::new_spec;
    else
      report.failures.push_back(name + ": " + sent.back().change.error());
  }

  // `current` becomes what runs: the old children in running order (the
  // replaced ones in place), then the added ones.
  std::vector<child_spec> children;
  std::set<std::string> placed;
  for (auto& c : current.tree.children) {
    const std::string name = name_of(c);
    if (after[name] == runs::nothing) continue;
    if (after[name] == runs::old_spec)
      children.push_back(std::move(c));
    else
      children.push_back(new_spec(name));
    placed.insert(name);
  }
  auto appended = diff.added;
  appended.insert(appended.end(), retries.begin(), retries.end());
  for (const auto& name : appended)
    if (after[name] == runs::new_spec && placed.insert(name).second)
      children.push_back(new_spec(name));
  if (diff.derived_limit_changed && !diff.derived_limit_more_lenient)
    apply_derived_limit(top, current, report);
  current.tree.children = std::move(children);
  current.written_order.clear();
  for (const auto& c : next.children)
    current.written_order.push_back(name_of(c));
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
  std::lock_guard reloading{reloading_};
  auto report = reload_config(top, current, file_, limit_);
  if (!report.rejected() && applied_) applied_(current);
  output lines;
  for (auto& p : report.problems) lines.errors.push_back(p);
  // A stop signal is acted on during a reload: the tree may have stopped
  // under it, taking what it added with it. Said before its summary,
  // which would otherwise read as if the changes still ran.
  std::string stopped;
  if (const auto status =
          top ? top.read()->status : core::supervisor_status::running;
      !report.rejected() && (status == core::supervisor_status::shutting_down ||
                             status == core::supervisor_status::stopped ||
                             status == core::supervisor_status::failed)) {
    stopped = "the tree stopped while reloading (supervisor " +
              std::string{to_string(status)} +
              "): what the reload applied stopped with it";
    lines.notes.push_back("reload: " + stopped);
  }
  // A rejection's line follows its diagnostics on stderr (docs/cli.md).
  for (auto& line : report.summary())
    (report.rejected() ? lines.errors : lines.notes).push_back(line);
  for (auto& f : report.failures) lines.errors.push_back("reload failed: " + f);
  {
    std::lock_guard guard{output_mutex_};
    for (auto& l : lines.errors) output_.errors.push_back(std::move(l));
    for (auto& l : lines.notes) output_.notes.push_back(std::move(l));
  }
  // Not a reload that took: whoever asked for it (`vitrine reload`) is
  // told so (the run's own output said it above).
  if (!stopped.empty()) report.failures.push_back(std::move(stopped));
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
  std::lock_guard guard{output_mutex_};  // never held for long
  return std::exchange(output_, {});
}

void reload_runner::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace vitrine::cli
