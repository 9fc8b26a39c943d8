#include "chaos_checks.hpp"

#include <algorithm>

#include "vitrine/core/transition_history.hpp"

namespace vitrine::test::chaos {
namespace {

/// Internal consistency of one state (or history entry).
bool consistent(process_status status, pid_t pid) {
  return has_child_status(status) ? pid > 0 : pid == 0;
}

}  // namespace

void check_process(const process_handle& h, std::size_t i, reader_log& log,
                   violations& bad) {
  observed now;
  {
    auto s = h.read();
    now = {
        true,           s->version,        s->status, s->pid, s->restart_count,
        s->spawn_errno, s->applied_command};
  }
  ++log.reads;
  auto& last = log.last[i];
  auto fail = [&](const std::string& what) {
    bad.add(std::string{h.name()} + ": " + what + " (version " +
            std::to_string(last.version) + " -> " +
            std::to_string(now.version) + ", status " +
            std::string{core::to_string(last.status)} + " -> " +
            std::string{core::to_string(now.status)} + ", pid " +
            std::to_string(last.pid) + " -> " + std::to_string(now.pid) +
            ", restarts " + std::to_string(last.restarts) + " -> " +
            std::to_string(now.restarts) + ")");
  };
  if (!consistent(now.status, now.pid)) fail("pid does not match status");
  if (last.any) {
    if (now.version < last.version) fail("version went back");
    if (now.version == last.version &&
        (now.status != last.status || now.pid != last.pid ||
         now.restarts != last.restarts))
      fail("one version, two contents");
    if (now.version <= last.version) return;
    if (now.restarts < last.restarts) fail("restart_count went down");
    if (now.restarts - last.restarts > now.version - last.version)
      fail("restart_count grew by more than one per publish");
    // A restart is counted as it spawns out of the backoff.
    if (now.version == last.version + 1 && now.restarts != last.restarts &&
        last.status != process_status::backoff)
      fail("a restart counted other than at a spawn out of its backoff");
    if (last.pid != 0 && now.pid != 0 && now.pid != last.pid) {
      ++log.pid_changes;
      if (now.version < last.version + 2)
        fail("a new pid without a recorded exit in between");
    }
  }
  if (now.pid != 0 && now.pid != last.pid) log.pids.push_back(now.pid);

  // The history, read after the state, holds at least that version.
  core::transition entries[core::transition_history::capacity];
  std::size_t n = 0;
  {
    auto history = h.history();
    n = history->size();
    for (std::size_t k = 0; k < n; ++k) entries[k] = (*history)[k];
  }
  if (n == 0 || entries[n - 1].version < now.version) {
    fail("the history lags behind the state");
    last = now;
    return;
  }
  std::size_t exits_between = 0;
  const core::transition* at_last = nullptr;
  const core::transition* at_now = nullptr;
  for (std::size_t k = 0; k < n; ++k) {
    const auto& e = entries[k];
    if (!consistent(e.status, e.pid)) fail("a history entry is inconsistent");
    if (e.version == last.version) at_last = &e;
    if (e.version == now.version) at_now = &e;
    if (e.pid != 0 && (log.pids.empty() || log.pids.back() != e.pid))
      log.pids.push_back(e.pid);
    if (k == 0) continue;
    const auto& before = entries[k - 1];
    if (e.version != before.version + 1) fail("history versions not in a row");
    if (before.pid != 0 && e.pid != 0 && before.pid != e.pid)
      fail("history: one pid replaced by another without an exit");
    if (before.pid != 0 && e.status == process_status::stopped &&
        before.status != process_status::stopping)
      fail("history: a child stopped without stopping first");
    if (e.restart_count == before.restart_count) continue;
    if (e.restart_count != before.restart_count + 1 ||
        before.status != process_status::backoff)
      fail(
          "history: a restart counted other than at a spawn out of its "
          "backoff");
    if (e.version > log.history_seen_up_to[i])
      log.counted_restarts[i].push_back(e.version);
    if (e.version > last.version && e.version <= now.version) ++exits_between;
  }
  log.history_seen_up_to[i] =
      std::max(log.history_seen_up_to[i], entries[n - 1].version);
  if (last.any && at_last != nullptr && at_now != nullptr) {
    ++log.exact_checks;
    if (at_last->status != last.status || at_last->pid != last.pid ||
        at_now->status != now.status || at_now->pid != now.pid)
      fail("the history disagrees with the states");
    if (now.restarts - last.restarts != exits_between)
      fail("restart_count grew by " +
           std::to_string(now.restarts - last.restarts) +
           " but the history "
           "shows " +
           std::to_string(exits_between) + " restarts");
  }
  last = now;
}

}  // namespace vitrine::test::chaos
