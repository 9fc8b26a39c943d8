// Options and timeouts at their limits: values that would make a runtime
// spin, flap or wrap a deadline are refused by name, and "forever"
// timeouts (duration::max(), hours::max()) wait instead of failing at
// once. Found by an outside tester of the installed package.
#include <caf/actor_system_config.hpp>
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "test_support.hpp"
#include "vitrine/child_change.hpp"
#include "vitrine/core/deadline.hpp"

using namespace vitrine;
using namespace vitrine::test;

namespace {

/// The message of the std::invalid_argument `make()` throws ("" if none).
template <class Make>
std::string refusal_of(Make make) {
  try {
    make();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

std::string runtime_refusal(const runtime_options& options) {
  return refusal_of([&] { runtime rt{options}; });
}

}  // namespace

TEST_CASE("deadline_after saturates where now + timeout would wrap",
          "[actors][options]") {
  using clock = std::chrono::steady_clock;
  CHECK(core::deadline_after(clock::duration::max()) ==
        clock::time_point::max());
  CHECK(core::deadline_after(std::chrono::hours::max()) ==
        clock::time_point::max());
  CHECK(core::deadline_after(core::longest_wait) == clock::time_point::max());
  const auto before = clock::now();
  const auto soon = core::deadline_after(std::chrono::seconds{5});
  CHECK(soon >= before + std::chrono::seconds{5});
  CHECK(soon <= clock::now() + std::chrono::seconds{5});
  CHECK(core::deadline_after(std::chrono::seconds{-5}) < clock::now());
  CHECK(core::at_most_longest_wait(std::chrono::milliseconds::max()) ==
        core::longest_wait);
  CHECK(core::at_most_longest_wait(std::chrono::seconds{3}) ==
        std::chrono::milliseconds{3000});
}

TEST_CASE("runtime options that would spin or wrap are refused by name",
          "[actors][options]") {
  runtime_options zero_heartbeat;
  zero_heartbeat.status_heartbeat = 0ms;
  CHECK(runtime_refusal(zero_heartbeat) ==
        "vitrine: runtime_options.status_heartbeat must be greater than 0 "
        "(it is 0 ms)");
  runtime_options long_steal;
  long_steal.scheduler_idle_steal = std::chrono::hours{25};
  CHECK(
      runtime_refusal(long_steal)
          .starts_with(
              "vitrine: runtime_options.scheduler_idle_steal must be at most"));
  runtime_options many_threads;
  many_threads.scheduler_threads = 100'000;
  CHECK(runtime_refusal(many_threads)
            .starts_with("vitrine: runtime_options.scheduler_threads must be "
                         "at most 1024"));
  runtime_options zero_period;
  zero_period.root_period = 0ms;
  CHECK(runtime_refusal(zero_period) ==
        "vitrine: runtime_options.root_period must be greater than 0");
  runtime_options remoting;
  remoting.remoting.enabled = true;
  remoting.remoting.heartbeat_interval = 0ms;
  CHECK(runtime_refusal(remoting) ==
        "vitrine: runtime_options.remoting.heartbeat_interval must be greater "
        "than 0 (it is 0 ms)");
  remoting.remoting.heartbeat_interval = 500ms;
  remoting.remoting.connection_timeout = -1ms;
  CHECK(runtime_refusal(remoting) ==
        "vitrine: runtime_options.remoting.connection_timeout must be greater "
        "than 0 (it is -1 ms)");
  // Not enabled: not read, not checked.
  remoting.remoting.enabled = false;
  CHECK(runtime_refusal(remoting).empty());
  // configure_remoting() checks for a borrowed system.
  caf::actor_system_config config;
  remoting_options borrowed;
  borrowed.heartbeat_interval = std::chrono::milliseconds::max();
  CHECK(refusal_of([&] { configure_remoting(config, borrowed); })
            .starts_with("vitrine: remoting_options.heartbeat_interval must "
                         "be at most 86400000 ms"));
}

TEST_CASE("connect options that would spin are refused by name",
          "[actors][options]") {
  runtime_options options;
  options.remoting.enabled = true;
  runtime rt{options};
  const auto node = *remote_endpoint::parse("127.0.0.1:9");
  const auto connect_refusal = [&](connect_options o) {
    return refusal_of([&] { rt.connect(node, o); });
  };
  connect_options zero_backoff;
  zero_backoff.backoff_min = 0ms;
  zero_backoff.backoff_max = 0ms;
  CHECK(connect_refusal(zero_backoff) ==
        "vitrine: connect_options.backoff_min must be greater than 0 (it is 0 "
        "ms)");
  connect_options inverted;
  inverted.backoff_min = 5000ms;
  inverted.backoff_max = 10ms;
  CHECK(connect_refusal(inverted) ==
        "vitrine: connect_options.backoff_max must not be below backoff_min "
        "(10 < 5000 ms)");
  connect_options no_attempt;
  no_attempt.attempt_timeout = 0ms;
  CHECK(connect_refusal(no_attempt)
            .starts_with("vitrine: connect_options.attempt_timeout must be "
                         "greater than 0"));
  connect_options forever;
  forever.command_timeout = std::chrono::milliseconds::max();
  CHECK(connect_refusal(forever).starts_with(
      "vitrine: connect_options.command_timeout must be at most"));
  CHECK(connect_refusal(connect_options{}).empty());
}

TEST_CASE("waits given duration::max() wait for the outcome",
          "[actors][options]") {
  runtime rt;
  auto h = rt.supervise(sh("forever", "exec sleep 1000"));
  REQUIRE(h.wait_for_status(core::process_status::running,
                            std::chrono::steady_clock::now() + patience));
  // Before: now + max wrapped into the past, and each returned false at
  // once.
  for (int i = 0; i < 3; ++i)
    CHECK(h.restart().wait_for(std::chrono::steady_clock::duration::max()));
  CHECK(h.restart().wait_for(std::chrono::hours::max()));
  auto added = rt.root().add_child(sh("added", "exec sleep 1000"));
  CHECK(added.wait_for(std::chrono::milliseconds::max()));
  CHECK(added.outcome() == change_outcome::done);
  CHECK(rt.root().start().wait_for(std::chrono::nanoseconds::max()));
}
