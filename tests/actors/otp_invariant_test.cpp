// OTP conformance, the backoff invariant under random commands: whatever
// sequence of start, stop, restart and kill hits the processes and
// supervisors of a small tree (zero and short backoffs, crash loops,
// supervisors that fail and are restarted), nothing stays in backoff,
// starting, stopping, restarting or shutting_down for good, and a final
// stop leaves no process alive.
//
// Seeded: VITRINE_OTP_SEED replays a run (the seed is printed on failure).
// Bounded: VITRINE_OTP_SECONDS of commands (default 6), in three rounds,
// each followed by a check that every transient state moves on.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <thread>

#include "otp_support.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::supervisor_status;

namespace {

/// How long a state that must move on may take to: the longest backoff,
/// start and stop timeout here are 100 ms; the rest is a loaded machine.
constexpr ms settle_limit{10'000};

struct random_tree {
  std::mt19937_64 rng;

  int pick(int lo, int hi) {
    return std::uniform_int_distribution<int>{lo, hi}(rng);
  }

  /// One of five tempers, with a zero or short backoff.
  process_spec process(const std::string& name) {
    auto spec = sh(name, "exec sleep 1000");
    switch (pick(0, 4)) {
      case 0:  // sleeps
        break;
      case 1:  // crash loop; sometimes with its own restart limit
        spec = sh(name, "sleep 0.0" + std::to_string(pick(1, 9)) + "; exit 1");
        if (pick(0, 1) == 0) spec.restart_limit = {3, 1000ms};
        break;
      case 2:  // ignores SIGTERM: stopped by the SIGKILL after 100 ms
        spec = sh(name, "trap '' TERM; exec sleep 1000");
        spec.stop_timeout = 100ms;
        break;
      case 3:  // one-shot: exits 0, transient (not restarted)
        spec = sh(name, "exit 0");
        spec.restart = restart_policy::transient;
        break;
      case 4:  // running only after 100 ms up
        spec.startsecs = 100ms;
        break;
    }
    spec.backoff.min = ms{pick(0, 2) * 10};
    spec.backoff.max = 100ms;
    return spec;
  }

  supervisor_spec group(std::string name, restart_strategy strategy,
                        std::vector<child_spec> children) {
    supervisor_spec spec;
    spec.name = std::move(name);
    spec.strategy = strategy;
    spec.intensity = static_cast<unsigned>(pick(0, 3));
    spec.period = 1000ms;
    spec.children = std::move(children);
    return spec;
  }

  supervisor_spec make() {
    auto mid = group("mid", restart_strategy::rest_for_one,
                     {process("p1"), process("p2"), process("p3")});
    auto inner = group("inner", restart_strategy::one_for_all,
                       {process("p5"), process("p6"), process("p7")});
    return group("top", restart_strategy::one_for_one,
                 {process("p0"), mid, process("p4"), inner});
  }
};

bool passing(process_status s) {
  return s == process_status::backoff || s == process_status::starting ||
         s == process_status::stopping;
}

bool passing(supervisor_status s) {
  return s == supervisor_status::starting ||
         s == supervisor_status::restarting ||
         s == supervisor_status::shutting_down;
}

/// Every handle in a passing state publishes a newer state within the
/// limit: a process in backoff starts or reaches a terminal state.
template <class Handle>
void moves_on(const std::vector<Handle>& handles) {
  for (const auto& h : handles) {
    const auto s = h.read();
    if (!passing(s->status)) continue;
    const auto v = s->version;
    INFO(h.name() << " was " << describe(*s));
    CHECK(h.wait_until([v](const auto& now) { return now.version > v; },
                       in(settle_limit)));
  }
}

}  // namespace

TEST_CASE(
    "random start, stop, restart and kill commands never strand a process "
    "or supervisor, and a final stop leaves nothing alive",
    "[otp][backoff][invariant][random]") {
  std::uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("VITRINE_OTP_SEED"))
    seed = std::strtoull(s, nullptr, 10);
  ms run_for{6000};
  if (const char* s = std::getenv("VITRINE_OTP_SECONDS"))
    run_for = ms{1000 * std::max(1L, std::strtol(s, nullptr, 10))};
  INFO("seed " << seed << " (VITRINE_OTP_SEED)");

  leak_checker leaks;
  random_tree build{std::mt19937_64{seed}};
  runtime_options options;
  options.root_intensity = 3;  // the root fails too, now and then
  options.root_period = 1000ms;
  runtime rt{options};
  rt.supervise(build.make());
  std::vector<process_handle> processes;
  for (int i = 0; i <= 7; ++i) {
    std::string name = "p";  // not "p" + to_string: GCC 12 -O3 -Wrestrict
    name += std::to_string(i);
    processes.push_back(rt.find(name));
    REQUIRE(processes.back());
  }
  std::vector<supervisor_handle> supervisors{
      rt.root(), rt.find_supervisor("top"), rt.find_supervisor("mid"),
      rt.find_supervisor("inner")};
  for (const auto& s : supervisors) REQUIRE(s);

  std::mt19937_64 rng{seed + 1};
  auto pick = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>{lo, hi}(rng);
  };
  std::vector<pid_t> pids;
  std::uint64_t commands = 0;
  for (int round = 0; round < 3; ++round) {
    const auto until = clock::now() + run_for / 3;
    while (clock::now() < until) {
      if (pick(0, 4) == 0) {
        const auto& s = supervisors[static_cast<std::size_t>(pick(0, 3))];
        if (pick(0, 1) == 0)
          s.start();
        else
          s.stop();
      } else {
        const auto& p = processes[static_cast<std::size_t>(pick(0, 7))];
        switch (pick(0, 3)) {
          case 0:
            p.start();
            break;
          case 1:
            p.stop();
            break;
          case 2:
            p.restart();
            break;
          case 3:
            p.signal(SIGKILL);
            break;
        }
      }
      ++commands;
      std::this_thread::sleep_for(ms{pick(0, 15)});  // paces, asserts nothing
    }
    INFO("round " << round << ", " << commands << " commands");
    moves_on(processes);
    moves_on(supervisors);
    for (const auto& p : processes)
      if (const pid_t pid = p.read()->pid; pid != 0) pids.push_back(pid);
  }

  // The final stop: every supervisor, then every process, ends at rest.
  const auto stop = rt.root().stop();
  REQUIRE(stop.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::stopped ||
               s.status == supervisor_status::failed;
      },
      in(patience)));
  for (const auto& p : processes) {
    INFO(p.name() << " is " << describe(*p.read()));
    CHECK(p.read()->pid == 0);
    CHECK_FALSE(passing(p.read()->status));
    CHECK(p.read()->status != process_status::running);
  }
  for (const auto& s : supervisors) {
    INFO(s.name() << " is " << describe(*s.read()));
    CHECK_FALSE(passing(s.read()->status));
    CHECK(s.read()->status != supervisor_status::running);
  }
  CHECK(all_gone(pids));
}
