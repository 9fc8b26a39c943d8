// minimal: supervise two processes, read their states from several threads
// at once (lock-free, no messages to the supervising actors), shut down.
//
// Build it against an installed vitrine (see CMakeLists.txt); it runs for
// under a second and exits 0.
#include <vitrine/vitrine.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using vitrine::core::process_status;

namespace {

// A spec is a plain value: what to run and how to keep it running.
vitrine::process_spec spec(std::string name, std::vector<std::string> argv) {
  vitrine::process_spec s;
  s.name = std::move(name);
  s.launch.argv = std::move(argv);  // a bare name is looked up in PATH
  s.startsecs = 200ms;              // "running" after 200 ms of uptime
  s.stop_timeout = 2s;              // SIGTERM, then SIGKILL after 2 s
  return s;
}

}  // namespace

int main() {
  // The runtime owns a CAF actor system, an I/O thread that watches the
  // children, and a root supervisor. Destroying it stops everything.
  vitrine::runtime rt;

  // supervise() validates the spec (throwing vitrine::spec_error with every
  // problem) and returns once the process has left `starting`: here after
  // its 200 ms of startsecs (or at an early exit).
  auto sleeper = rt.supervise(spec("sleeper", {"sleep", "30"}));
  auto ticker = rt.supervise(
      spec("ticker", {"/bin/sh", "-c", "while :; do sleep 0.1; done"}));

  // Waiting sleeps on a futex until the actor publishes a matching state.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  if (!sleeper.wait_for_status(process_status::running, deadline) ||
      !ticker.wait_for_status(process_status::running, deadline)) {
    std::fprintf(stderr, "minimal: the processes did not come up\n");
    return 1;
  }

  // Any number of threads read states concurrently. read() is a guarded
  // pointer load: no lock, no allocation, no message to the actor.
  const auto handled_before = sleeper.messages_handled();
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 100'000; ++i) {
        auto state = sleeper.read();  // a snapshot; keep it short-lived
        if (state->status == process_status::running) ++reads;
      }
    });
  }
  for (auto& r : readers) r.join();
  std::printf("%ld lock-free reads, %llu messages to the actor meanwhile\n",
              reads.load(),
              static_cast<unsigned long long>(sleeper.messages_handled() -
                                              handled_before));

  // Every process in start order, at one consistent registry revision.
  rt.for_each([](const vitrine::process_handle& h) {
    auto s = h.read();
    std::printf("%-8s %-8s pid %d restarts %u\n", std::string{h.name()}.c_str(),
                std::string{vitrine::core::to_string(s->status)}.c_str(),
                static_cast<int>(s->pid), s->restart_count);
  });

  // Stops every child in reverse start order and waits until each is
  // reaped (the destructor would do the same).
  rt.shutdown();
  std::printf(
      "sleeper after shutdown: %s\n",
      std::string{vitrine::core::to_string(sleeper.read()->status)}.c_str());
  return 0;
}
