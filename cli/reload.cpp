#include "reload.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "vitrine/child_change.hpp"

namespace vitrine::cli {
namespace {

enum class change_kind { add, remove, replace };

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
    // Not applied: the summary does not announce the new limit.
    report.diff.derived_limit_changed = false;
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

/// Waits for a change however long it takes: every change ends (the old
/// child's stop is bounded by its stop timeout, the new one's start by its
/// startsecs or exit, a shutdown completes it as supervisor_gone).
void wait_applied(const child_change& change) {
  while (!change.wait_for(std::chrono::seconds{1})) {
  }
}

/// `spec` (a copy of the new file's: what `current` records keeps the
/// file's `autostart`) with autostart on for every program of its tree
/// that runs now; off for a top-level program that is stopped (a group is
/// replaced, and started, as a whole).
child_spec keeping_states(child_spec spec, const status_lookup& status_of) {
  if (!status_of) return spec;
  using core::process_status;
  const auto keep = [&](auto& self, child_spec& c, bool top_level) -> void {
    if (auto* p = std::get_if<process_spec>(&c)) {
      const auto now = status_of(p->name);
      if (!now) return;  // a new name
      if (*now == process_status::starting || *now == process_status::running ||
          *now == process_status::backoff)
        p->autostart = true;
      else if (top_level && *now == process_status::stopped)
        p->autostart = false;
      return;
    }
    for (auto& child : std::get<supervisor_spec>(c).children)
      self(self, child, false);
  };
  keep(keep, spec, true);
  return spec;
}

child_change send_add(const supervisor_handle& top, child_spec spec) {
  return std::visit([&](auto& s) { return top.add_child(std::move(s)); }, spec);
}

child_change send_replace(const supervisor_handle& top, child_spec spec) {
  return std::visit([&](auto& s) { return top.replace_child(std::move(s)); },
                    spec);
}

}  // namespace

std::string reload_report::errors() const {
  // A rejected file as `vitrine check` reports it: its problems, then how
  // many.
  std::string out;
  for (const auto& p : in_file_order.empty() ? problems : in_file_order)
    out += p + "\n";
  if (!problems.empty())
    out += std::to_string(problems.size()) +
           (problems.size() == 1 ? " problem\n" : " problems\n");
  for (const auto& f : failures) out += "reload failed: " + f + "\n";
  return out;
}

reload_report reload_config(supervisor_handle top, config& current,
                            const std::string& file, const fd_limit& limit,
                            const status_lookup& status_of,
                            os::fd_reserve* reserve) {
  reload_report report;
  if (!top) {  // the tree is still being added
    report.problems.push_back(
        "vitrine: the programs are still being added; reload once they run");
    return report;
  }
  parse_options options;
  options.running_top_name = current.tree.name;
  auto loaded = [&] {
    std::optional<os::fd_reserve::use> room;
    if (reserve) room.emplace(*reserve);
    return load_config_file(file, options);
  }();
  for (const auto& warning : loaded.warnings)
    report.warnings.push_back(describe(warning));
  if (!loaded.ok()) {
    for (const auto& problem : loaded.problems)
      report.problems.push_back(describe(problem));
    report.in_file_order = cli::in_file_order(loaded);
    return report;
  }
  auto& next = loaded.value.tree;
  keep_program_fd_limit(next, limit);
  report.diff = diff_configs(current, loaded.value);
  const auto& diff = report.diff;

  // Sent at once, in this order: the supervisor applies them one after
  // another, so the removals free their names before the rest begins.
  const auto new_at = child_positions(next.children);
  const auto new_spec = [&](const std::string& name) -> const child_spec& {
    return next.children[new_at.at(name)];
  };
  enum class runs { old_spec, new_spec, nothing };  // per name, afterwards
  std::map<std::string, runs> after;
  for (const auto& c : current.tree.children)
    after[child_name(c)] = runs::old_spec;
  struct sent_change {
    std::string name;
    change_kind kind;
    child_change change;
  };
  std::vector<sent_change> sent;
  const auto send = [&](const std::string& name, change_kind kind) {
    try {  // the spec was checked, but a program may vanish meanwhile
      sent.push_back(
          {name, kind,
           kind == change_kind::remove ? top.remove_child(name)
           : kind == change_kind::replace
               ? send_replace(top, keeping_states(new_spec(name), status_of))
               : send_add(top, keeping_states(new_spec(name), status_of))});
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
    const std::string name = child_name(c);
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
    current.written_order.push_back(child_name(c));
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
  const auto top_status = [&] {
    return top ? top.read()->status : core::supervisor_status::running;
  };
  // Stopped by `ctl stop TOP` before the reload: what it applies starts
  // with the next start of the tree, no stop happened under it.
  const bool stopped_before = top_status() == core::supervisor_status::stopped;
  auto report =
      reload_config(top, current, file_, limit_, status_now_, reserve_);
  if (!report.rejected() && applied_) {
    std::optional<os::fd_reserve::use> room;
    if (reserve_) room.emplace(*reserve_);
    applied_(current);
  }
  output lines;
  if (!report.in_file_order.empty()) {
    lines.errors = report.in_file_order;
  } else {
    for (auto& w : report.warnings) lines.errors.push_back(w);
    for (auto& p : report.problems) lines.errors.push_back(p);
  }
  // A stop signal is acted on during a reload: the tree may have stopped
  // under it, taking what it added with it. Said before its summary,
  // which would otherwise read as if the changes still ran.
  std::string stopped;
  const auto status = top_status();
  const bool by_command =  // `ctl stop TOP`, before or during the reload
      (status == core::supervisor_status::stopped ||
       status == core::supervisor_status::shutting_down) &&
      (stopped_before || (run_stopping_ && !run_stopping_()));
  if (report.rejected()) {
  } else if (by_command) {
    // In the summary: `vitrine reload` prints it too.
    report.stopped_tree =
        "reload: supervisor '" + std::string{top.read()->name()} + "' " +
        (stopped_before ? "is stopped" : "was stopped during the reload") +
        " (ctl stop): what the reload applied starts when it is started";
  } else if (status == core::supervisor_status::shutting_down ||
             status == core::supervisor_status::stopped ||
             status == core::supervisor_status::failed) {
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
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto woke =
      ::write(output_ready_.get(), &one, sizeof one);
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
  try {
    thread_ = std::thread{[this, top, &current] {
      reload_now(top, current);
      running_.store(false, std::memory_order_release);
    }};
  } catch (const std::system_error& e) {
    // Out of processes or threads (ulimit -u, a pids limit): said, and the
    // run goes on (before, it aborted).
    running_.store(false, std::memory_order_relaxed);
    std::lock_guard guard{output_mutex_};
    output_.errors.push_back(
        "reload: not done: could not start a thread for it (" +
        e.code().message() + "); nothing changed, ask again");
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto woke =
        ::write(output_ready_.get(), &one, sizeof one);
  }
}

reload_runner::output reload_runner::take_output() {
  std::lock_guard guard{output_mutex_};  // never held for long
  std::uint64_t count = 0;
  [[maybe_unused]] const auto drained =
      ::read(output_ready_.get(), &count, sizeof count);
  return std::exchange(output_, {});
}

void reload_runner::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace vitrine::cli
