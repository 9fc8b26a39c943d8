// Helpers of the bad-input tests (bad_input_test.cpp, bad_names_test.cpp):
// supervise a spec that must be refused and check that nothing started.
// Test-only, Catch2 assertions inside: call from a test case's thread.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "test_support.hpp"
#include "vitrine/os/process_scan.hpp"

namespace vitrine::test {

/// True if `field` is `wanted` or ends with ".wanted" (fields carry the
/// process name as a prefix: "web.launch.argv[0]").
inline bool names_field(const std::string& field, const std::string& wanted) {
  if (field == wanted) return true;
  const std::string suffix = "." + wanted;
  return field.size() > suffix.size() &&
         field.compare(field.size() - suffix.size(), suffix.size(), suffix) ==
             0;
}

/// What must not change when a spec is refused.
struct untouched {
  explicit untouched(const runtime& rt)
      : revision(rt.processes().revision()),
        entries(rt.processes().size()),
        children(os::children_of(::getpid()).size()) {}
  std::uint64_t revision;
  std::size_t entries;
  std::size_t children;
};

/// Supervises `spec`, expects a spec_error naming `field` (and whose message
/// contains `message_part`, if given), and checks that nothing was started.
template <class Spec>
void check_refused(runtime& rt, Spec spec, const std::string& field,
                   const std::string& message_part = {}) {
  const untouched before{rt};
  bool refused = false;
  try {
    rt.supervise(std::move(spec));
  } catch (const spec_error& e) {
    refused = true;
    INFO("spec_error: " << e.what());
    const auto& problems = e.problems();
    REQUIRE_FALSE(problems.empty());
    const bool named =
        std::any_of(problems.begin(), problems.end(), [&](const auto& p) {
          return names_field(p.field, field) &&
                 p.message.find(message_part) != std::string::npos;
        });
    CHECK(named);
    // what() lists every problem too.
    for (const auto& p : problems)
      CHECK(std::string{e.what()}.find(p.message) != std::string::npos);
  }
  INFO("expected a spec_error naming " << field);
  CHECK(refused);
  CHECK(rt.processes().revision() == before.revision);
  CHECK(rt.processes().size() == before.entries);
  CHECK(os::children_of(::getpid()).size() == before.children);
}

/// A valid, quick, long-running process.
inline process_spec sleeper(std::string name) {
  return sh(std::move(name), "exec sleep 1000");
}

}  // namespace vitrine::test
