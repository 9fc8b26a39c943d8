#include "vitrine/runtime.hpp"

#include <catch2/catch.hpp>

using namespace vitrine;
using namespace std::chrono_literals;
using core::process_status;

namespace {
auto in(std::chrono::milliseconds d) {
  return std::chrono::steady_clock::now() + d;
}

process_spec sh(std::string name, std::string script) {
  process_spec spec;
  spec.name = std::move(name);
  spec.launch.argv = {"/bin/sh", "-c", std::move(script)};
  spec.startsecs = 0ms;
  spec.backoff.min = 10ms;
  spec.backoff.jitter = 0;
  spec.stop_timeout = 2000ms;
  return spec;
}
}  // namespace

TEST_CASE("a supervised process runs, is read without messages, and stops",
          "[runtime]") {
  runtime rt;
  auto h = rt.supervise(sh("sleeper", "exec sleep 30"));
  REQUIRE(h.wait_for_status(process_status::running, in(10s)));
  const auto pid = h.read()->pid;
  CHECK(pid > 0);
  CHECK(rt.find("sleeper").read()->pid == pid);
  const auto before = h.messages_handled();
  for (int i = 0; i < 1'000'000; ++i) REQUIRE(h.read()->pid == pid);
  CHECK(h.messages_handled() == before);
  REQUIRE(h.stop());
  REQUIRE(h.wait_for_status(process_status::stopped, in(10s)));
  auto s = h.read();
  CHECK(s->pid == 0);
  CHECK(s->last_exit.how == core::termination::kind::signaled);
  CHECK(s->last_exit.value == SIGTERM);
}

TEST_CASE("a transient process that exits 0 is not restarted", "[runtime]") {
  runtime rt;
  auto spec = sh("once", "exit 0");
  spec.restart = restart_policy::transient;
  auto h = rt.supervise(spec);
  REQUIRE(h.wait_for_status(process_status::exited, in(10s)));
  CHECK(h.read()->restart_count == 0);
  CHECK(h.read()->last_exit ==
        core::termination{core::termination::kind::exited, 0});
}

TEST_CASE("a permanent process that crashes is restarted with a new pid",
          "[runtime]") {
  runtime rt;
  auto h = rt.supervise(sh("crasher", "sleep 0.05; exit 3"));
  REQUIRE(h.wait_until([](const auto& s) { return s.restart_count >= 2; },
                       in(10s)));
  CHECK(h.read()->last_exit ==
        core::termination{core::termination::kind::exited, 3});
}
