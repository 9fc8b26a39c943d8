// Helpers shared by the fault tests (faults_test.cpp,
// fd_exhaustion_test.cpp): a spec whose output is captured, and the time
// of a read. Test-only; call from the test's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "test_support.hpp"

namespace vitrine::test {

/// Average time of one read() of `h`, over `n` reads.
inline double nanos_per_read(const process_handle& h, int n) {
  std::uint64_t sum = 0;
  const auto begin = clock::now();
  for (int i = 0; i < n; ++i) sum += h.read()->version;
  const auto took = clock::now() - begin;
  if (sum == 0) return -1;  // keeps the loop from being optimized away
  return std::chrono::duration<double, std::nano>(took).count() / n;
}

/// `sh -c script` with stdout and stderr captured to `out` and `err` (""
/// = /dev/null).
inline process_spec captured(std::string name, std::string script,
                             const std::string& out, const std::string& err) {
  auto spec = sh(std::move(name), std::move(script));
  using kind = os::stdio_target::kind;
  spec.launch.stdout_target = out.empty()
                                  ? os::stdio_target{kind::null, {}}
                                  : os::stdio_target{kind::capture, out};
  spec.launch.stderr_target = err.empty()
                                  ? os::stdio_target{kind::null, {}}
                                  : os::stdio_target{kind::capture, err};
  return spec;
}

}  // namespace vitrine::test
