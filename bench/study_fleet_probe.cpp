// vitrine_bench_study_fleet_probe: watches a runtime start N real `sleep`
// processes (argv[1], default 10,000) in one parallel-start group, as
// bench/fleet.cpp does, and prints one line per second: processes by
// status, this process's threads, open descriptors and resident memory,
// the machine's process count and load, and the memory cgroup's usage and
// failure count. When every process runs, or after argv[2] seconds (default
// 300), it prints the first process that does not run with its spawn errno
// and error text. A diagnostic for issue 15 (why a large real fleet did not
// start), not a benchmark: nothing is written to results/.
#include <sys/resource.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "vitrine/runtime.hpp"

namespace {

using namespace std::chrono_literals;
using vitrine::core::process_status;

std::string first_line_of(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (key.empty() || line.rfind(key, 0) == 0) return line;
  return "?";
}

std::size_t count_entries(const std::string& dir, bool numeric_only) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (!numeric_only || (!name.empty() && name[0] >= '0' && name[0] <= '9'))
      ++n;
  }
  return n;
}

std::string memory_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);)
    if (auto at = line.find(":memory:"); at != std::string::npos)
      return "/sys/fs/cgroup/memory" + line.substr(at + 8);
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::stoul(argv[1]) : 10'000;
  const auto limit = std::chrono::seconds{argc > 2 ? std::stol(argv[2]) : 300};
  const std::string memcg = memory_cgroup();
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  std::printf("processes=%zu rlimit_nofile=%llu pid_max=%s memcg=%s\n", n,
              static_cast<unsigned long long>(files.rlim_cur),
              first_line_of("/proc/sys/kernel/pid_max", "").c_str(),
              memcg.c_str());

  vitrine::runtime rt;
  vitrine::supervisor_spec group;
  group.name = "fleet";
  group.intensity = 1'000'000;
  group.period = 1000ms;
  group.parallel_start = true;
  for (std::size_t i = 0; i < n; ++i) {
    vitrine::process_spec spec;
    spec.name = "proc-" + std::to_string(i);
    spec.launch.argv = {"/bin/sleep", "1000000"};
    spec.startsecs = 0ms;
    spec.backoff.min = 0ms;
    spec.backoff.jitter = 0;
    spec.restart_limit.interval = 0ms;
    group.children.emplace_back(std::move(spec));
  }
  const auto begin = std::chrono::steady_clock::now();
  std::thread starter([&] { rt.supervise(std::move(group)); });

  std::array<std::size_t, 7> by_status{};
  std::size_t spawn_failures = 0;
  for (;;) {
    std::this_thread::sleep_for(1s);
    by_status.fill(0);
    spawn_failures = 0;
    rt.for_each([&](const vitrine::process_handle& h) {
      auto s = h.read();
      ++by_status[static_cast<std::size_t>(s->status)];
      if (s->spawn_errno != 0) ++spawn_failures;
    });
    const double t =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
            .count();
    std::printf(
        "t=%.0fs running=%zu starting=%zu backoff=%zu failed=%zu "
        "stopped=%zu spawn_errno_set=%zu | %s fds=%zu %s | machine "
        "pids=%zu load=%s | memcg %s failcnt=%s\n",
        t, by_status[2], by_status[1], by_status[3], by_status[6], by_status[0],
        spawn_failures, first_line_of("/proc/self/status", "Threads:").c_str(),
        count_entries("/proc/self/fd", false),
        first_line_of("/proc/self/status", "VmRSS:").c_str(),
        count_entries("/proc", true),
        first_line_of("/proc/loadavg", "").c_str(),
        first_line_of(memcg + "/memory.usage_in_bytes", "").c_str(),
        first_line_of(memcg + "/memory.failcnt", "").c_str());
    std::fflush(stdout);
    if (by_status[2] == n || std::chrono::steady_clock::now() - begin > limit)
      break;
  }
  std::size_t shown = 0;
  rt.for_each([&](const vitrine::process_handle& h) {
    auto s = h.read();
    if (s->status == process_status::running || shown++ >= 3) return;
    std::printf("not running: %.*s status=%.*s spawn_errno=%d error=%.*s\n",
                static_cast<int>(h.name().size()), h.name().data(),
                static_cast<int>(to_string(s->status).size()),
                to_string(s->status).data(), s->spawn_errno,
                static_cast<int>(s->spawn_error().size()),
                s->spawn_error().data());
  });
  starter.join();
  rt.shutdown();
}
