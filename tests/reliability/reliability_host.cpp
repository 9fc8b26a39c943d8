// reliability_host: a host application for the "host SIGKILLed mid-restart"
// test. It embeds a vitrine::runtime and supervises
//   * `loopers` crash-looping children (`exit 1`, zero backoff, so at any
//     moment some are being spawned, reaped or restarted), and
//   * `sleepers` long-running children (`sleep 1000`),
// every one with VITRINE_RELIABILITY_TOKEN=<token> in its environment, so
// the test can find each of them in /proc whatever its pid. Once every
// looper has been restarted at least 5 times it prints "ready" and keeps
// reading states until it is killed.
//
// Usage: vitrine_reliability_host <token> [loopers=8] [sleepers=4]
// Exit codes: 2 bad usage, 3 a child did not come up in time.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "vitrine/runtime.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  using vitrine::core::process_status;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <token> [loopers] [sleepers]\n", argv[0]);
    return 2;
  }
  const std::string token = argv[1];
  const int loopers = argc > 2 ? std::atoi(argv[2]) : 8;
  const int sleepers = argc > 3 ? std::atoi(argv[3]) : 4;

  // Crash loops on purpose: no per-process limit, and a root that never
  // gives up.
  vitrine::runtime_options options;
  options.root_intensity = 1'000'000;
  options.root_period = 1000ms;
  vitrine::runtime rt{options};
  std::vector<vitrine::process_handle> handles;
  auto add = [&](std::string name, std::string script, bool loops) {
    vitrine::process_spec spec;
    spec.name = std::move(name);
    spec.launch.argv = {"/bin/sh", "-c", std::move(script)};
    spec.launch.env = {{"VITRINE_RELIABILITY_TOKEN", token}};
    spec.startsecs = 0ms;
    if (loops) {
      spec.backoff.min = 0ms;
      spec.backoff.max = 0ms;
      spec.backoff.jitter = 0;
      spec.restart_limit.interval = 0ms;
    }
    handles.push_back(rt.supervise(std::move(spec)));
  };
  for (int i = 0; i < sleepers; ++i)
    add("sleeper-" + std::to_string(i), "exec sleep 1000", false);
  for (int i = 0; i < loopers; ++i)
    add("looper-" + std::to_string(i), "exit 1", true);

  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (std::size_t i = 0; i < handles.size(); ++i) {
    const bool loops = static_cast<int>(i) >= sleepers;
    const bool up = handles[i].wait_until(
        [loops](const vitrine::core::process_state& s) {
          return loops ? s.restart_count >= 5
                       : s.status == process_status::running;
        },
        deadline);
    if (!up) {
      std::fprintf(stderr, "reliability_host: %s did not come up\n",
                   std::string{handles[i].name()}.c_str());
      return 3;
    }
  }
  std::printf("ready\n");
  std::fflush(stdout);
  // Keep the host busy (reads on this thread, restarts on CAF's threads)
  // until the test SIGKILLs it.
  [[maybe_unused]] std::uint64_t sum = 0;  // the reads are the point
  for (;;)
    for (const auto& h : handles) sum += h.read()->restart_count;
}
