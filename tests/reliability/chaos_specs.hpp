// The chaos run's programs (chaos_test.cpp): seven tempers of shell
// program as process_specs with random backoff and stop timeouts, and the
// supervisor specs they run under. Test-only; one thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace vitrine::test::chaos {

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

inline supervisor_spec supervisor(std::string name, restart_strategy strategy,
                                  unsigned intensity) {
  supervisor_spec spec;
  spec.name = std::move(name);
  spec.strategy = strategy;
  spec.intensity = intensity;
  spec.period = 1000ms;
  return spec;
}

}  // namespace vitrine::test::chaos
