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

#include "reliability_support.hpp"
#include "test_support.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_state;
using core::process_status;
using core::supervisor_status;
using std::chrono::seconds;

namespace {

enum class temper {
  quick,       // sh -c 'exit N'
  crash,       // kill -9 $$
  hang,        // ignores SIGTERM: only the SIGKILL after stop_timeout ends it
  grandchild,  // forks a grandchild into its group and waits for it
  spam,        // 500 lines to a captured, rotated log, then a short sleep
  flood,       // `yes` into a captured, rotated log, forever
  sleeper,     // exec sleep 1000
};

constexpr std::uint64_t log_max_bytes = 16 * 1024;
constexpr unsigned log_backups = 2;

struct chaos_spec_builder {
  std::mt19937_64& rng;
  const temp_dir& logs;
  std::vector<std::string> log_paths;
  ms stop_timeouts{0};

  int uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>{lo, hi}(rng);
  }

  process_spec make(const std::string& name, temper t, unsigned index) {
    process_spec spec;
    spec.name = name;
    spec.launch.stdout_target = {os::stdio_target::kind::null, {}};
    spec.launch.stderr_target = {os::stdio_target::kind::null, {}};
    spec.startsecs = 0ms;
    spec.backoff.min = ms{uniform(10, 50)};
    spec.backoff.max = 400ms;
    spec.backoff.multiplier = 1.5;
    spec.backoff.jitter = 0.2;
    spec.stop_timeout = ms{uniform(200, 500)};
    stop_timeouts += spec.stop_timeout;
    std::string script;
    switch (t) {
      case temper::quick:
        script = "exit " + std::to_string(index % 4);
        if (index % 3 == 0) spec.restart = restart_policy::transient;
        break;
      case temper::crash:
        script = "kill -9 $$";
        break;
      case temper::hang:
        script = "trap '' TERM; sleep 1000";
        break;
      case temper::grandchild:
        script = "sleep 1000 & wait";
        break;
      case temper::spam:
        script =
            "i=0; while [ $i -lt 500 ]; do echo \"spam $i "
            "................................................\"; "
            "i=$((i+1)); done; exec sleep 0.3";
        break;
      case temper::flood:
        script = "exec yes vitrine-chaos-flood";
        break;
      case temper::sleeper:
        script = "exec sleep 1000";
        break;
    }
    // Some quick exiters and crashers exit before startsecs: quick
    // failures, which end in `failed` until the controller starts them.
    if ((t == temper::quick || t == temper::crash) && index % 5 == 0) {
      spec.startsecs = 100ms;
      spec.startretries = 2;
    }
    if (t == temper::spam || t == temper::flood) {
      const auto path = logs.file(name + ".log");
      spec.launch.stdout_target = {os::stdio_target::kind::capture, path};
      spec.launch.stderr_target = {os::stdio_target::kind::capture, path};
      spec.logs = {log_max_bytes, log_backups};
      log_paths.push_back(path);
    }
    spec.launch.argv = {"/bin/sh", "-c", script};
    return spec;
  }
};

supervisor_spec supervisor(std::string name, restart_strategy strategy,
                           unsigned intensity) {
  supervisor_spec spec;
  spec.name = std::move(name);
  spec.strategy = strategy;
  spec.intensity = intensity;
  spec.period = 1000ms;
  return spec;
}

// -- what the readers check
// -----------------------------------------------------

bool has_child_status(process_status s) {
  return s == process_status::starting || s == process_status::running ||
         s == process_status::stopping;
}

/// Internal consistency of one state (or history entry): a child exists
/// exactly in starting, running and stopping.
bool consistent(process_status status, pid_t pid) {
  return has_child_status(status) ? pid > 0 : pid == 0;
}

struct observed {
  bool any = false;
  std::uint64_t version = 0;
  process_status status = process_status::stopped;
  pid_t pid = 0;
  std::uint32_t restarts = 0;
  int spawn_errno = 0;
  std::uint64_t applied_command = 0;  ///< a command publishes even alone
};

/// What one reader thread saw. Each reader owns one; merged afterwards.
struct reader_log {
  explicit reader_log(std::size_t processes)
      : last(processes),
        history_seen_up_to(processes, 0),
        exit_restarts(processes) {}

  std::vector<observed> last;
  std::vector<std::uint64_t> history_seen_up_to;
  /// Per process: versions of the exit -> backoff transitions seen in the
  /// history (each is one restart_count increment).
  std::vector<std::vector<std::uint64_t>> exit_restarts;
  std::vector<pid_t> pids;
  std::uint64_t reads = 0;
  std::uint64_t pid_changes = 0;
  std::uint64_t exact_checks = 0;  // state pairs fully covered by history
  std::vector<std::uint64_t> supervisor_versions;
};

class violations {
 public:
  void add(std::string text) {
    count_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock{mutex_};
    if (first_.size() < 20) first_.push_back(std::move(text));
  }
  std::uint64_t count() const { return count_.load(); }
  std::vector<std::string> first() const {
    std::lock_guard lock{mutex_};
    return first_;
  }

 private:
  std::atomic<std::uint64_t> count_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> first_;
};

/// One pass of a reader over process i. The checks, and why they are sound
/// on any machine load:
///
/// * Versions are monotonic per reader (one writer, acquire loads).
/// * A state is consistent: a pid exactly in starting/running/stopping.
/// * restart_count never decreases, and grows by at most one per publish.
/// * "Every exit is recorded": restart_count counts exactly the exits that
///   the process actor turned into a restart, i.e. the transitions from a
///   state with a child (pid != 0) into `backoff` (a spawn failure also
///   goes to backoff, but from a state without a child, and does not
///   count). Stops (stopping -> stopped) and exits that end in exited or
///   failed are not restarts. So a backoff state without spawn_errno must
///   come with a higher count than any earlier state; two different pids
///   are always separated by at least one more version (the exit); and
///   whenever the history (8 entries, published before the state) still
///   covers every transition between two states this reader saw, the
///   count's growth equals the number of exit -> backoff transitions in
///   between, exactly. The history never shows a pid replaced by another
///   without an exit, nor a child stopped without `stopping` first.
/// This attributes restarts by what the owning actor recorded, not by
/// guessing which pid changes the controller or a strategy caused, so
/// nothing depends on timing.
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
    if (now.status == process_status::backoff && now.spawn_errno == 0 &&
        now.restarts == last.restarts &&
        now.applied_command == last.applied_command)
      fail("an exit into backoff was not counted");
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
    const bool exit_restart =
        before.pid != 0 && e.status == process_status::backoff;
    if (!exit_restart) continue;
    if (e.version > log.history_seen_up_to[i])
      log.exit_restarts[i].push_back(e.version);
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
           std::to_string(exits_between) + " exit restarts");
  }
  last = now;
}

}  // namespace

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
  for (std::size_t k = 0; k < 3; ++k) {
    INFO(describe(*sups[k].read()));
    CHECK(sups[k].read()->status != supervisor_status::failed);
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
    // Every exit restart a reader found in the history was counted.
    std::vector<std::uint64_t> seen;
    for (const auto& log : reader_logs) {
      seen.insert(seen.end(), log.exit_restarts[i].begin(),
                  log.exit_restarts[i].end());
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
