// OTP conformance: under one_for_one a child's restart concerns that child
// alone, so a supervisor that is starting other children (its first start
// in order, or a child added while it runs) restarts it after its own
// backoff, not once the slow start of a later child has ended. Under
// one_for_all and rest_for_one the restart waits for the start (it stops
// and starts those children too). See /docs/design.md "Supervisors".
#include <catch2/catch.hpp>

#include <string>
#include <utility>

#include "otp_support.hpp"

using namespace vitrine;
using namespace vitrine::test;

namespace {

/// Counts as running after 3 s: the start that the restarts must not wait
/// for.
process_spec slow_starter(const std::string& name) {
  auto spec = sh(name, "exec sleep 100");
  spec.startsecs = 3000ms;
  return spec;
}

/// Runs `for_ms` and exits 1 (the first `failures` runs; then stays).
process_spec early_exit(const event_log& log, const std::string& name,
                        int failures, int for_ms) {
  const std::string count = log.file(name + ".runs");
  auto spec = sh(name, "echo x >> " + count + "; if [ $(wc -l < " + count +
                           ") -le " + std::to_string(failures) +
                           " ]; then sleep " + std::to_string(for_ms / 1000.0) +
                           "; exit 1; fi; exec sleep 100");
  spec.backoff.min = spec.backoff.max = 20ms;
  return spec;
}

struct fixture {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};

  /// Adds `spec` under the root without waiting for its start (supervise()
  /// would return only once it ended); returns its supervisor and the
  /// handle of its process `name`, once registered.
  std::pair<supervisor_handle, process_handle> start_tree(
      supervisor_spec spec, const std::string& name) {
    const auto tree_name = spec.name;
    rt.root().add_child(std::move(spec));  // not waited for
    process_handle h;
    REQUIRE(eventually([&] { return bool(h = rt.find(name)); }));
    return {rt.find_supervisor(tree_name), h};
  }
};

}  // namespace

TEST_CASE_METHOD(fixture,
                 "under one_for_one a child that exits while its supervisor "
                 "starts a later child is restarted after its own backoff, "
                 "not after the later child's startsecs",
                 "[otp][order][restart]") {
  const bool added_later = GENERATE(false, true);
  INFO((added_later ? "slow child added to a running supervisor"
                    : "slow child in the first start"));
  auto early = early_exit(log, "early", 2, 300);
  auto spec = tree("fleet", restart_strategy::one_for_one, {early});
  if (!added_later) spec.children.push_back(slow_starter("slow"));
  auto [sup, h] = start_tree(spec, "early");
  if (added_later) {
    REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
    sup.add_child(slow_starter("slow"));  // not waited for
  }
  // Two exits 300 ms apart, each restarted after 20 ms: running for good
  // about 0.7 s in, well before the slow child counts as running (3 s).
  REQUIRE(reaches_when(h, [](const core::process_state& s) {
    return s.restart_count == 2 && s.status == process_status::running;
  }));
  auto slow = rt.find("slow");
  REQUIRE(slow);
  const auto now = slow.read();
  INFO("slow: " << describe(*now));
  CHECK(now->status == process_status::starting);
  CHECK(sup.read()->restarts == 2);
}

TEST_CASE_METHOD(fixture,
                 "under one_for_one the retries of a failed start go on "
                 "while the next child starts",
                 "[otp][order][failed_start]") {
  auto flaky = early_exit(log, "flaky", 3, 50);
  flaky.startsecs = 200ms;  // each run ends within it: a failed start
  auto [sup, h] = start_tree(tree("fleet", restart_strategy::one_for_one,
                                  {flaky, slow_starter("slow")}),
                             "flaky");
  REQUIRE(reaches_when(h, [](const core::process_state& s) {
    return s.status == process_status::running;
  }));
  const auto slow = rt.find("slow").read();
  INFO("slow: " << describe(*slow));
  CHECK(slow->status == process_status::starting);
  CHECK(h.read()->restart_count == 3);
}

TEST_CASE_METHOD(fixture,
                 "under rest_for_one a child that exits during the first "
                 "start is restarted once that start has ended",
                 "[otp][order][restart]") {
  auto [sup, h] =
      start_tree(tree("deps", restart_strategy::rest_for_one,
                      {early_exit(log, "early", 1, 300), slow_starter("slow")}),
                 "early");
  REQUIRE(reaches_when(h, [](const core::process_state& s) {
    return s.restart_count == 1 && s.status == process_status::running;
  }));
  CHECK(last_time_of(h, process_status::running) >=
        last_time_of(rt.find("slow"), process_status::running));
  CHECK(sup.wait_for_status(supervisor_status::running, in(patience)));
}
