// No leftovers: whatever kills the host, every descendant of every program
// dies (guardian, cgroup, process groups); re-parented descendants are
// reaped (orphan reaper); the guardian is replaced when it dies and kills
// the groups marked just before the host died; a reaped
// child can no longer be signalled; validate() and launch agree on PATH.
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "support/freeze.hpp"
#include "support/leftovers.hpp"
#include "support/pids_cap.hpp"
#include "support/piped_child.hpp"
#include "test_support.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/runtime.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;

namespace {

/// The sleeps (and shells) that a host_helper of `kind` keeps per program.
std::size_t expected_per_program(const std::string& kind) {
  if (kind == "shell") return 2;  // sh -c "sleep; true" and its sleep
  // sh, its sleep, the setsid sh and its two sleeps
  if (kind == "deepdaemon") return 5;
  return 3;  // sh, its sleep and the setsid sleep
}

/// The guardian of `host`: its child named vitrine-guard (0 if none).
pid_t guardian_of(pid_t host) {
  for (const auto& c : os::children_of(host))
    if (!os::is_zombie(c) && comm_of(c.pid) == "vitrine-guard") return c.pid;
  return 0;
}

/// Waits for the guardian to be settled: it names itself last, after its
/// setup, which may still run when the host's programs already do.
pid_t settled_guardian_of(pid_t host) {
  pid_t guard = 0;
  eventually([&] { return (guard = guardian_of(host)) != 0; });
  return guard;
}

bool have_cgroup_v2() {
  return ::access("/sys/fs/cgroup/unified/cgroup.procs", W_OK) == 0 ||
         ::access("/sys/fs/cgroup/cgroup.kill", F_OK) == 0;
}

/// The cgroup directories of this process's runtimes (vitrine-PID-*), under
/// its own cgroup v2 directory; empty where there is none.
std::vector<std::filesystem::path> runtime_cgroups() {
  std::ifstream in("/proc/self/cgroup");
  std::string line, own;
  while (std::getline(in, line))
    if (line.starts_with("0::")) own = line.substr(3);
  std::vector<std::filesystem::path> trees;
  const std::string prefix = "vitrine-" + std::to_string(::getpid()) + "-";
  for (const char* mount : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator{std::string{mount} + own, ec})
      if (e.path().filename().string().starts_with(prefix))
        trees.push_back(e.path());
    if (!trees.empty()) break;
  }
  return trees;
}

/// Resident memory of `pid` (0 if gone).
std::uint64_t resident_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  std::uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

/// The program directories (p<id>) below `tree`.
std::size_t program_cgroups(const std::filesystem::path& tree) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator{tree, ec})
    n += e.is_directory() && e.path().filename().string().starts_with("p");
  return n;
}

struct host_run {
  std::string token = unique_token();
  std::string marker = "1000." + token;
  std::unique_ptr<piped_child> host;

  host_run(const std::string& kind, int programs,
           std::vector<std::string> flags = {},
           std::vector<std::string> env = {}) {
    std::vector<std::string> argv{VITRINE_HOST_HELPER, std::to_string(programs),
                                  kind, token};
    argv.insert(argv.end(), flags.begin(), flags.end());
    host = std::make_unique<piped_child>(argv, env);
  }
  ~host_run() { kill_all_with(marker); }
};

}  // namespace

SCENARIO("nothing a program started survives its host's SIGKILL",
         "[orphans][guardian]") {
  const bool cgroup = have_cgroup_v2();
  struct variant {
    std::string kind;
    std::vector<std::string> flags;
    std::vector<std::string> env;
    bool needs_cgroup;
  };
  const std::vector<variant> variants{
      {"shell", {}, {}, false},
      {"shell", {}, {"VITRINE_CGROUP=off"}, false},
      {"shell", {"setpgrp"}, {}, false},  // the whole host group is killed
      {"daemon", {}, {}, true},
      {"doublefork", {}, {}, true},
      {"doublefork", {"subreaper"}, {}, true},
  };
  for (const auto& v : variants) {
    if (v.needs_cgroup && !cgroup) continue;
    const bool whole_group =
        std::find(v.flags.begin(), v.flags.end(), "setpgrp") != v.flags.end();
    const bool subreaper =
        std::find(v.flags.begin(), v.flags.end(), "subreaper") != v.flags.end();
    GIVEN("a host running 3 '" << v.kind << "' programs"
                               << (v.env.empty() ? "" : " without cgroups")
                               << (whole_group ? " in its own group" : "")
                               << (subreaper ? " as a subreaper" : "")) {
      host_run run{v.kind, 3, v.flags, v.env};
      REQUIRE(run.host->read_until("ready\n", 30'000ms));
      REQUIRE(at_least(run.marker, 3 * expected_per_program(v.kind), 10'000ms));
      WHEN("the host is SIGKILLed") {
        const pid_t target = whole_group ? -run.host->pid() : run.host->pid();
        const auto killed_at = clock::now();
        REQUIRE(::kill(target, SIGKILL) == 0);
        THEN("every descendant is gone") {
          const bool none_left =
              time_until_none(run.marker, 5'000ms).count() >= 0;
          const auto took = clock::now() - killed_at;
          run.host->reap();
          INFO("leftovers: " << describe_leftovers(run.marker));
          REQUIRE(none_left);
          WARN("'" << v.kind << "'" << (whole_group ? " (group kill)" : "")
                   << (v.env.empty() ? "" : " (no cgroup)")
                   << " descendants gone " << millis(took)
                   << " ms after the host's SIGKILL");
        }
      }
    }
  }
}

TEST_CASE("a killed guardian is replaced, and the replacement still works",
          "[orphans][guardian]") {
  host_run run{"shell", 2};
  REQUIRE(run.host->read_until("ready\n", 30'000ms));
  REQUIRE(at_least(run.marker, 4, 10'000ms));
  const pid_t first = settled_guardian_of(run.host->pid());
  REQUIRE(first != 0);
  // It ignores the usual termination signals...
  REQUIRE(::kill(first, SIGTERM) == 0);
  REQUIRE(::kill(first, SIGINT) == 0);
  REQUIRE(::kill(first, SIGHUP) == 0);
  CHECK_FALSE(
      eventually([&] { return guardian_of(run.host->pid()) != first; }, 200ms));
  // ...and is replaced when killed anyway.
  REQUIRE(::kill(first, SIGKILL) == 0);
  pid_t second = 0;
  REQUIRE(eventually([&] {
    second = guardian_of(run.host->pid());
    return second != 0 && second != first;
  }));
  CHECK(os::read_proc_entry(second)->pgrp == second);  // its own session
  REQUIRE(::kill(run.host->pid(), SIGKILL) == 0);
  run.host->reap();
  CHECK(time_until_none(run.marker, 5'000ms).count() >= 0);
  // It exited: a zombie (until init reaps it, at init's pace) or gone.
  CHECK(eventually([&] { return !os::is_alive(second); }));
}

TEST_CASE("a stopped guardian is continued, and kills at the host's death",
          "[orphans][guardian]") {
  // Without cgroups, where the guardian alone reaches a setsid daemon.
  host_run run{"shell", 2, {}, {"VITRINE_CGROUP=off"}};
  REQUIRE(run.host->read_until("ready\n", 30'000ms));
  REQUIRE(at_least(run.marker, 4, 10'000ms));
  const pid_t guard = settled_guardian_of(run.host->pid());
  REQUIRE(guard != 0);
  REQUIRE(vitrine::test::freeze(guard));
  const auto stopped = [guard] {
    const auto e = os::read_proc_entry(guard);
    return e && e->state == 'T';
  };
  CHECK(eventually([&] { return !stopped(); }, 3'000ms));
  CHECK(guardian_of(run.host->pid()) == guard);  // continued, not replaced
  REQUIRE(::kill(run.host->pid(), SIGKILL) == 0);
  run.host->reap();
  const bool none_left = time_until_none(run.marker, 5'000ms).count() >= 0;
  INFO("leftovers: " << describe_leftovers(run.marker));
  CHECK(none_left);
}

TEST_CASE(
    "a guardian that dies while the host cannot fork is replaced once "
    "it can",
    "[orphans][guardian]") {
  if (!pids_cap::available()) {
    WARN("skipped: no writable cgroup v1 pids hierarchy to refuse forks");
    return;
  }
  host_run run{"shell", 2};
  REQUIRE(run.host->read_until("ready\n", 30'000ms));
  REQUIRE(at_least(run.marker, 4, 10'000ms));
  const pid_t first = settled_guardian_of(run.host->pid());
  REQUIRE(first != 0);
  pids_cap cap;
  REQUIRE(cap.made());
  REQUIRE(cap.add(run.host->pid()));
  REQUIRE(cap.freeze_count());  // no fork now
  REQUIRE(::kill(first, SIGKILL) == 0);
  REQUIRE(eventually([&] { return !os::is_alive(first); }));
  // Not replaced while forks are refused...
  CHECK_FALSE(
      eventually([&] { return guardian_of(run.host->pid()) != 0; }, 300ms));
  CHECK(cap.read("pids.current") != "0");
  // ...and replaced once they are allowed again.
  REQUIRE(cap.lift());
  pid_t second = 0;
  REQUIRE(eventually(
      [&] { return (second = guardian_of(run.host->pid())) != 0; }, 5'000ms));
  CHECK(second != first);
  REQUIRE(::kill(run.host->pid(), SIGKILL) == 0);
  run.host->reap();
  const bool none_left = time_until_none(run.marker, 5'000ms).count() >= 0;
  INFO("leftovers: " << describe_leftovers(run.marker));
  CHECK(none_left);
}

/// Holds a process in a ptrace stop (PTRACE_SEIZE + PTRACE_INTERRUPT)
/// until release() or the end of the scope; `held` false (and `why`) when
/// ptrace is not allowed here.
struct trace_stop {
  explicit trace_stop(pid_t traced) : pid(traced) {
    if (::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0) {
      why = std::strerror(errno);
      return;
    }
    int status = 0;
    held = ::ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) == 0 &&
           ::waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status);
    if (!held) {
      why = "no ptrace stop";
      ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    }
  }
  ~trace_stop() { release(); }
  trace_stop(const trace_stop&) = delete;
  trace_stop& operator=(const trace_stop&) = delete;
  void release() {
    if (held) ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    held = false;
  }
  pid_t pid;
  bool held = false;
  std::string why;
};

TEST_CASE("a group marked just before the host dies is killed with it",
          "[orphans][guardian]") {
  // A held guardian stands for one that was not scheduled since the
  // group was marked (under load): it reads the table only once the host
  // is gone. Held in a ptrace stop, which the runtime leaves alone (it
  // continues a guardian in a job-control stop: SIGSTOP).
  // Without cgroups (cgroup.kill would reach every descendant anyway).
  host_run run{"shell", 1, {"late"}, {"VITRINE_CGROUP=off"}};
  REQUIRE(run.host->read_until("ready\n", 30'000ms));
  REQUIRE(at_least(run.marker, 2, 10'000ms));
  const pid_t guard = settled_guardian_of(run.host->pid());
  REQUIRE(guard != 0);
  trace_stop hold{guard};
  if (!hold.held) {
    WARN("skipped: cannot ptrace the guardian here (" << hold.why << ")");
    return;
  }
  REQUIRE(::kill(run.host->pid(), SIGUSR1) == 0);  // one more program
  REQUIRE(run.host->read_until("late\n", 30'000ms));
  REQUIRE(at_least(run.marker, 4, 10'000ms));
  REQUIRE(::kill(run.host->pid(), SIGKILL) == 0);
  run.host->reap();
  hold.release();  // it wakes to a dead host
  const bool none_left = time_until_none(run.marker, 5'000ms).count() >= 0;
  INFO("leftovers: " << describe_leftovers(run.marker));
  CHECK(none_left);
}

TEST_CASE(
    "zombies stay at zero under a daemonizer restarting in a subreaper host",
    "[orphans][reaper]") {
  host_run run{"zombies", 40, {"subreaper"}};
  const auto text = run.host->read_until("left ", 60'000ms);
  REQUIRE(text);
  run.host->read_until("\n", 5'000ms);
  std::istringstream in{*text};
  std::string word;
  std::size_t restarts = 0, zombies = 99, reaped = 0;
  while (in >> word) {
    if (word == "restarts") in >> restarts;
    if (word == "zombies") in >> zombies;
    if (word == "reaped") in >> reaped;
  }
  INFO(*text);
  CHECK(restarts >= 40);
  CHECK(zombies == 0);
  // Each run left a background sleep behind: it was killed with its
  // program and re-parented to the host, which reaped it.
  CHECK(reaped >= restarts / 2);
  run.host->reap();
  CHECK(processes_with(run.marker).empty());
}

TEST_CASE(
    "a subreaper runtime's shutdown kills what its adopted orphans started, "
    "without cgroups",
    "[orphans][reaper]") {
  // Each program leaves a setsid shell with two sleeps, an orphan the host
  // adopts. Without cgroups only the runtime's shutdown reaches it: killed
  // while the host still adopts, its sleeps re-parent to the host and die
  // in turn (before, the host gave the attribute back first, and the
  // sleeps went on under init).
  host_run run{"deepdaemon",
               2,
               {"subreaper", "destroy_elsewhere", "linger"},
               {"VITRINE_CGROUP=off"}};
  REQUIRE(run.host->read_until("ready\n", 30'000ms));
  REQUIRE(
      at_least(run.marker, 2 * expected_per_program("deepdaemon"), 10'000ms));
  REQUIRE(::kill(run.host->pid(), SIGUSR1) == 0);  // destroy the runtime
  REQUIRE(run.host->read_until("destroyed\n", 30'000ms));
  // The host lives on without its runtime: no guardian, no reaper left.
  const bool none_left = time_until_none(run.marker, 2'000ms).count() >= 0;
  INFO("leftovers: " << describe_leftovers(run.marker));
  CHECK(none_left);
}

TEST_CASE("a removed program leaves no cgroup, even when members die slowly",
          "[orphans][cgroup]") {
  leak_checker leaks;
  const std::string marker = "1000." + unique_token();
  runtime rt;
  const auto trees = runtime_cgroups();
  if (trees.size() != 1) {
    WARN("no writable cgroup v2 hierarchy here: skipped");
    return;
  }
  // A member that takes a while to die: 256 MiB of touched pages to free
  // after cgroup.kill, while the program's own child exits at once.
  const std::string hog =
      "setsid python3 -c 'import time; x = b\"a\" * (256 << 20); "
      "time.sleep(" +
      marker + ")' & exec sleep " + marker;
  for (int round = 0; round < 3; ++round) {
    const std::string name = "hog" + std::to_string(round);
    auto h = rt.supervise(sh(name, hog));
    REQUIRE(reaches(h, process_status::running));
    REQUIRE(eventually(
        [&] {
          for (pid_t pid : processes_with(marker))
            if (resident_bytes(pid) > (200u << 20)) return true;
          return false;
        },
        20'000ms));
    auto removal = rt.root().remove_child(name);
    REQUIRE(removal.wait_for(20'000ms));
    CHECK(eventually([&] { return program_cgroups(trees.front()) == 0; }));
  }
  CHECK(time_until_none(marker, 5'000ms).count() >= 0);
}

TEST_CASE("validate() and launch agree on PATH without an inherited env",
          "[spec][path]") {
  process_spec spec;
  spec.name = "bare";
  spec.launch.argv = {"sh", "-c", "exit 0"};
  spec.launch.inherit_env = false;  // launch searches the default PATH
  spec.startsecs = 0ms;
  spec.restart = restart_policy::temporary;
  CHECK(validate(spec).empty());
  runtime rt;
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::exited));
  CHECK(h.read()->last_exit.value == 0);
  spec.launch.argv = {"no-such-program-anywhere"};
  CHECK_FALSE(validate(spec).empty());
}
