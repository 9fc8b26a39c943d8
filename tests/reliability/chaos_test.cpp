// Chaos: 200 processes of every temper under five supervisors (one_for_one
// with a nested one_for_one, one_for_all, rest_for_one, and a fragile one
// allowed to fail), while two reader threads check every published state
// and a controller thread stops, starts, restarts and signals at random.
// Afterwards, with the runtime destroyed: no zombie, no orphan, no fd
// leaked, the heap back near its baseline, every exit accounted for, and a
// shutdown within the sum of the stop timeouts.
//
// Bounded: VITRINE_CHAOS_SECONDS (default 30) divided by
// VITRINE_STRESS_SCALE, at least 5 s. VITRINE_CHAOS_SEED picks the random
// choices (the seed used is printed on failure).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "chaos_checks.hpp"
#include "chaos_specs.hpp"
#include "reliability_support.hpp"
#include "test_support.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine;
using namespace vitrine::test;
using namespace vitrine::test::chaos;
using core::process_state;
using core::process_status;
using core::supervisor_status;
using std::chrono::seconds;

TEST_CASE(
    "200 processes under five supervisors survive a bounded chaos run and "
    "leave no zombie, orphan, fd or memory behind",
    "[reliability][chaos]") {
  const auto run_for = reliability::scaled_seconds("VITRINE_CHAOS_SECONDS",
                                                   seconds{30}, seconds{5});
  std::uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("VITRINE_CHAOS_SEED"))
    seed = std::strtoull(s, nullptr, 10);
  INFO("seed " << seed << " (VITRINE_CHAOS_SEED), run for " << run_for.count()
               << " s, stress scale " << reliability::stress_scale());
  std::mt19937_64 rng{seed};
  temp_dir logs;

  // Warm-up: first-use allocations of CAF, the reclaimer and the registry
  // are not leaks.
  {
    runtime warm;
    auto h = warm.supervise(sh("warm-up", "exit 0"));
    REQUIRE(reaches(h, process_status::running));
  }
  const auto fds_before = os::count_open_fds();
  const auto children_before = os::children_of(::getpid()).size();
  REQUIRE(children_before == 0);
  const std::size_t heap_before = reliability::heap_in_use();

  // -- the tree
  // ----------------------------------------------------------------
  chaos_spec_builder build{rng, logs, {}, 0ms};
  std::vector<std::string> names;
  std::vector<bool> controllable;
  unsigned index = 0;
  auto add = [&](supervisor_spec& sup, temper t, bool may_control = true) {
    const auto name = "c" + std::to_string(index) + "-" + sup.name;
    sup.children.push_back(build.make(name, t, index++));
    names.push_back(name);
    controllable.push_back(may_control);
  };
  const temper pattern[] = {temper::quick,      temper::crash, temper::hang,
                            temper::grandchild, temper::quick, temper::crash,
                            temper::grandchild, temper::spam,  temper::quick,
                            temper::sleeper};
  // The intensity is the validator's maximum: these must never give up.
  constexpr unsigned never = 1'000'000;
  auto o4o = supervisor("o4o", restart_strategy::one_for_one, never);
  auto nested = supervisor("nested", restart_strategy::one_for_one, never);
  for (int i = 0; i < 160; ++i)
    add(o4o, i == 7 ? temper::flood : pattern[i % 10]);
  for (int i = 0; i < 16; ++i) add(nested, pattern[(i + 3) % 10]);
  o4o.children.push_back(nested);
  // One child each that exits on its own, so restarts do not pile up.
  auto o4a = supervisor("o4a", restart_strategy::one_for_all, never);
  for (temper t :
       {temper::grandchild, temper::sleeper, temper::hang, temper::crash,
        temper::grandchild, temper::sleeper, temper::sleeper, temper::spam})
    add(o4a, t == temper::spam ? temper::sleeper : t);
  auto r4o = supervisor("r4o", restart_strategy::rest_for_one, never);
  for (temper t :
       {temper::sleeper, temper::grandchild, temper::sleeper, temper::hang,
        temper::sleeper, temper::crash, temper::grandchild, temper::sleeper,
        temper::hang, temper::sleeper, temper::sleeper, temper::grandchild})
    add(r4o, t);
  // Allowed (expected) to fail: two restarts within a minute are too many.
  auto fragile = supervisor("fragile", restart_strategy::one_for_one, 1);
  fragile.period = 60'000ms;
  for (temper t :
       {temper::sleeper, temper::crash, temper::grandchild, temper::sleeper})
    add(fragile, t, false);
  REQUIRE(names.size() == 200);
  const std::size_t processes = names.size();

  auto rt = std::make_unique<runtime>();
  std::vector<supervisor_handle> sups;
  for (auto* s : {&o4o, &o4a, &r4o, &fragile})
    sups.push_back(rt->supervise(std::move(*s)));
  std::vector<process_handle> handles;
  for (const auto& n : names) {
    handles.push_back(rt->find(n));
    REQUIRE(handles.back());
  }

  // -- the chaos
  // ---------------------------------------------------------------
  std::atomic<bool> readers_stop{false}, controller_stop{false};
  violations bad;
  std::vector<reader_log> reader_logs(2, reader_log{processes});
  std::vector<std::thread> readers;
  for (auto& log : reader_logs)
    readers.emplace_back([&, &log = log] {
      while (!readers_stop.load(std::memory_order_relaxed)) {
        for (std::size_t i = 0; i < processes; ++i)
          check_process(handles[i], i, log, bad);
        // Supervisor states: versions and restart totals never go back.
        log.supervisor_versions.resize(sups.size(), 0);
        for (std::size_t k = 0; k < sups.size(); ++k) {
          const auto v = sups[k].read()->version;
          if (v < log.supervisor_versions[k])
            bad.add("supervisor " + std::string{sups[k].name()} +
                    ": version went back");
          log.supervisor_versions[k] = v;
        }
      }
    });
  std::atomic<std::uint64_t> commands{0};
  std::thread controller([&, seed] {
    std::mt19937_64 r{seed + 1};
    std::vector<std::size_t> targets;
    for (std::size_t i = 0; i < processes; ++i)
      if (controllable[i]) targets.push_back(i);
    std::uniform_int_distribution<std::size_t> pick{0, targets.size() - 1};
    std::uniform_int_distribution<int> action{0, 99}, pause{2, 15};
    while (!controller_stop.load(std::memory_order_relaxed)) {
      const auto& h = handles[targets[pick(r)]];
      const int a = action(r);
      if (a < 20)
        h.stop();
      else if (a < 50)
        h.start();
      else if (a < 70)
        h.restart();
      else if (a < 80)
        h.signal(SIGKILL);
      else if (a < 90)
        h.signal(SIGTERM);
      else if (a < 94)
        h.signal(SIGSTOP);
      else
        h.signal(SIGCONT);
      commands.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(ms{pause(r)});
    }
  });

  const auto chaos_began = clock::now();
  // The fragile supervisor fails early (its crasher needs a second
  // restart); the root restarts it (per its own intensity) until the
  // crasher fails alone at its own restart limit.
  const bool fragile_failed =
      eventually([&] { return sups[3].read()->last_failure != nullptr; });
  std::this_thread::sleep_until(chaos_began + run_for);
  controller_stop = true;
  controller.join();
  readers_stop = true;
  for (auto& t : readers) t.join();
  const auto chaos_took = clock::now() - chaos_began;

  CHECK(fragile_failed);
  for (std::size_t i = 0; i < processes; ++i) {
    if (controllable[i]) continue;
    INFO(describe(*handles[i].read()));
    // Never stranded: each settles (no backoff or start left pending).
    CHECK(reaches_when(handles[i], [](const process_state& s) {
      return s.status != process_status::backoff &&
             s.status != process_status::starting &&
             s.status != process_status::stopping;
    }));
  }
  // Their intensity is never exceeded. A one_for_all or rest_for_one
  // supervisor fails when a child gives up (its own restart limit), as its
  // other children depend on it; one_for_one keeps running without it.
  for (std::size_t k = 0; k < 3; ++k) {
    const auto s = sups[k].read();
    INFO(describe(*s));
    const bool gave_up = s->last_failure && s->last_failure->child_gave_up;
    CHECK((s->status != supervisor_status::failed || (k > 0 && gave_up)));
    if (s->last_failure) CHECK((k > 0 && gave_up));
  }
  // Every child leads its own process group (pgid == pid): the group ids
  // collected below are the groups we created.
  std::size_t leaders_checked = 0;
  for (const auto& h : handles) {
    const pid_t pid = h.read()->pid;
    if (pid == 0) continue;
    const auto entry = os::read_proc_entry(pid);
    if (!entry || entry->ppid != ::getpid() || os::is_zombie(*entry)) continue;
    ++leaders_checked;
    CHECK(entry->pgrp == pid);
  }
  CHECK(leaders_checked > 0);
  std::uint32_t supervisor_restarts = 0;
  for (const auto& s : sups) supervisor_restarts += s.read()->restarts;

  // -- shutdown
  // ------------------------------------------------------------------
  const auto shutdown_began = clock::now();
  rt.reset();
  const auto shutdown_took = clock::now() - shutdown_began;
  const auto shutdown_bound =
      build.stop_timeouts + 10s * reliability::stress_scale();

  // -- afterwards
  // ----------------------------------------------------------------
  std::unordered_set<pid_t> groups;
  std::uint64_t reads = 0, pid_changes = 0, exact_checks = 0;
  std::uint64_t restarts_total = 0, restarts_seen = 0;
  for (const auto& log : reader_logs) {
    reads += log.reads;
    pid_changes += log.pid_changes;
    exact_checks += log.exact_checks;
    groups.insert(log.pids.begin(), log.pids.end());
  }
  for (std::size_t i = 0; i < processes; ++i) {
    const auto& h = handles[i];
    for (pid_t p : pids_in_history(h)) groups.insert(p);
    const auto s = *h.read();
    INFO(describe(s));
    CHECK(s.pid == 0);
    CHECK_FALSE(has_child_status(s.status));
    CHECK(s.status != process_status::backoff);
    // Every counted restart a reader found in the history is in the count.
    std::vector<std::uint64_t> seen;
    for (const auto& log : reader_logs) {
      seen.insert(seen.end(), log.counted_restarts[i].begin(),
                  log.counted_restarts[i].end());
      CHECK(s.restart_count >= log.last[i].restarts);
    }
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    CHECK(s.restart_count >= seen.size());
    restarts_total += s.restart_count;
    restarts_seen += seen.size();
  }
  groups.erase(0);

  std::vector<reliability::proc_info> left;
  const bool nothing_left = eventually(
      [&] {
        left = reliability::leftovers(groups);
        return left.empty();
      },
      5000ms);
  for (const auto& p : left)
    UNSCOPED_INFO("left over: " << reliability::describe(p));
  CHECK(nothing_left);
  const bool fds_back =
      eventually([&] { return os::count_open_fds() == fds_before; }, 5000ms);
  INFO("open fds before " << fds_before << ", now " << os::count_open_fds());
  CHECK(fds_back);

  // Captured logs stayed bounded (rotation: at most backups + 1 files).
  for (const auto& path : build.log_paths) {
    INFO(path);
    for (unsigned k = 0; k <= log_backups; ++k)
      CHECK(file_size(k == 0 ? path : path + "." + std::to_string(k)) <=
            log_max_bytes);
    CHECK_FALSE(file_exists(path + "." + std::to_string(log_backups + 1)));
  }

  const auto first_bad = bad.first();
  for (const auto& v : first_bad) UNSCOPED_INFO("violation: " << v);
  CHECK(bad.count() == 0);

  INFO("chaos ran " << millis(chaos_took) << " ms: " << reads << " reads, "
                    << commands.load() << " commands, " << pid_changes
                    << " pid changes seen, " << exact_checks
                    << " state pairs checked exactly against the history, "
                    << restarts_total << " restarts counted (" << restarts_seen
                    << " seen in histories), " << supervisor_restarts
                    << " ordered by supervisors, " << groups.size()
                    << " process groups");
  INFO("shutdown took " << millis(shutdown_took) << " ms; bound "
                        << millis(shutdown_bound) << " ms (sum of stop "
                        << "timeouts " << build.stop_timeouts.count()
                        << " ms + margin)");
  CHECK(shutdown_took < shutdown_bound);
  CHECK(reads > 0);

  // -- the heap, once everything of ours is gone
  // ---------------------------------
  handles.clear();
  handles.shrink_to_fit();
  sups.clear();
  sups.shrink_to_fit();
  reader_logs.clear();
  reader_logs.shrink_to_fit();
  const std::size_t groups_seen = groups.size();
  groups = {};
  left = {};
  names = {};
  controllable = {};
  build.log_paths = {};
  if (reliability::heap_measurable()) {
    const std::size_t heap_after = reliability::heap_in_use();
    INFO("heap in use: before " << heap_before << " B, after " << heap_after
                                << " B");
    CHECK(heap_after <= heap_before + (1u << 20));
  }
  // Report the figures even when everything passed.
  std::ostringstream figures;
  figures << "chaos: " << millis(chaos_took) << " ms, " << reads << " reads, "
          << commands.load() << " commands, " << pid_changes
          << " pid changes seen, " << exact_checks
          << " state pairs checked exactly, " << restarts_total
          << " restarts counted (" << restarts_seen << " seen in histories), "
          << supervisor_restarts << " ordered by supervisors, " << groups_seen
          << " process groups; shutdown " << millis(shutdown_took)
          << " ms (bound " << millis(shutdown_bound) << " ms)";
  if (reliability::heap_measurable())
    figures << "; heap " << heap_before << " -> " << reliability::heap_in_use()
            << " B";
  WARN(figures.str());
}
