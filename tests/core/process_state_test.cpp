#include "vitrine/core/process_state.hpp"
#include "vitrine/core/signal_names.hpp"

#include <csignal>

#include <catch2/catch.hpp>

using namespace vitrine::core;

TEST_CASE("every process status has a distinct lowercase name",
          "[process_state]") {
  CHECK(to_string(process_status::stopped) == "stopped");
  CHECK(to_string(process_status::starting) == "starting");
  CHECK(to_string(process_status::running) == "running");
  CHECK(to_string(process_status::backoff) == "backoff");
  CHECK(to_string(process_status::stopping) == "stopping");
  CHECK(to_string(process_status::exited) == "exited");
  CHECK(to_string(process_status::failed) == "failed");
  CHECK(to_string(process_status::unknown) == "unknown");  // remote mirrors
}

TEST_CASE("a termination describes itself for humans", "[process_state]") {
  CHECK(describe(termination{}) == "-");
  CHECK(describe({termination::kind::exited, 3}) == "exit 3");
  CHECK(describe({termination::kind::signaled, SIGKILL}) ==
        "signal 9 (SIGKILL)");
  // Real-time signals are named from the same table as os::signal_name().
  CHECK(describe({termination::kind::signaled, SIGRTMIN + 2}) ==
        "signal " + std::to_string(SIGRTMIN + 2) + " (SIGRTMIN+2)");
  CHECK(describe({termination::kind::signaled, 99}) == "signal 99");
}

TEST_CASE("one table names every standard and real-time signal",
          "[process_state][signals]") {
  CHECK(signal_name(SIGTERM) == "SIGTERM");
  CHECK(signal_name(SIGSTKFLT) == "SIGSTKFLT");
  CHECK(signal_name(SIGRTMIN) == "SIGRTMIN+0");
  CHECK(signal_name(0).empty());
  CHECK(signal_name(SIGRTMAX + 1).empty());
  for (const auto& s : standard_signals) {
    CHECK(signal_name(s.number) == s.name);
    CHECK(s.name.substr(0, 3) == "SIG");
  }
}

TEST_CASE("a copied state shares its name and error text", "[process_state]") {
  process_state a;
  a.name_storage = std::make_shared<const std::string>("web");
  a.spawn_error_storage =
      std::make_shared<const std::string>("exec /nope: No such file");
  process_state b = a;
  b.version = a.version + 1;
  CHECK(b.name() == "web");
  CHECK(b.name().data() == a.name().data());
  CHECK(b.spawn_error() == "exec /nope: No such file");
  CHECK_FALSE(b.has_child());
  CHECK(process_state{}.name().empty());
}
