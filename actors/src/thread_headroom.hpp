// thread_headroom: checks that a process may start `count` more threads
// before a caf::actor_system is built. CAF 0.17.6's actor_system
// constructor, when one of its threads cannot be started (out of
// processes: `ulimit -u`, a pids cgroup limit), destroys what it built
// with a crash (SIGSEGV in caf::actor_system::clock(), or std::terminate);
// a check first turns that into an exception its caller can report (an
// outside tester's `vitrine run` under `ulimit -u 6`). Not a reservation:
// threads another part of the process starts meanwhile can still use the
// room up. Internal to the actors/ library.
//
// Threads: any. Cost: starts and joins `count` threads (tens of
// microseconds each), once per owned actor system.
#pragma once

#include <latch>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace vitrine::detail {

/// Throws std::system_error (the pthread_create error, e.g. EAGAIN) if
/// `count` threads cannot all be running at once.
inline void require_thread_headroom(unsigned count) {
  std::latch release{1};
  std::vector<std::thread> probes;
  probes.reserve(count);
  const auto join_all = [&] {
    release.count_down();
    for (auto& t : probes) t.join();
  };
  try {
    for (unsigned i = 0; i < count; ++i)
      probes.emplace_back([&release] { release.wait(); });
  } catch (const std::system_error& e) {
    join_all();
    throw std::system_error(
        e.code(), "cannot start the actor system's " + std::to_string(count) +
                      " threads (only " + std::to_string(probes.size()) +
                      " could be)");
  }
  join_all();
}

}  // namespace vitrine::detail
