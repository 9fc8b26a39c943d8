// termination and signal_names: vitrine's one exit type and its one table of
// signal names, as every message renders them.
#include "vitrine/core/termination.hpp"

#include <csignal>
#include <string>

#include <catch2/catch.hpp>

#include "vitrine/core/signal_names.hpp"
#include "vitrine/core/status_table.hpp"

using namespace vitrine::core;

TEST_CASE("a termination describes itself for humans", "[termination]") {
  CHECK(describe(termination{}) == "-");
  CHECK(describe({termination::kind::exited, 3}) == "exit 3");
  CHECK(describe({termination::kind::signaled, SIGKILL}) ==
        "signal 9 (SIGKILL)");
  CHECK(describe({termination::kind::signaled, SIGSEGV, true}) ==
        "signal 11 (SIGSEGV), core dumped");
  // Real-time signals are named from the same table as the CLI's messages.
  CHECK(describe({termination::kind::signaled, SIGRTMIN + 2}) ==
        "signal " + std::to_string(SIGRTMIN + 2) + " (SIGRTMIN+2)");
  CHECK(describe({termination::kind::signaled, 99}) == "signal 99");
  CHECK(describe({termination::kind::unknown}) == "unknown (exit status lost)");
}

TEST_CASE("only exit 0 is a success", "[termination]") {
  CHECK(termination{termination::kind::exited, 0}.success());
  CHECK_FALSE(termination{termination::kind::exited, 1}.success());
  CHECK_FALSE(termination{termination::kind::signaled, SIGTERM}.success());
  CHECK_FALSE(termination{termination::kind::unknown}.success());
  CHECK_FALSE(termination{}.success());
}

TEST_CASE("every termination kind has a distinct lowercase name",
          "[termination]") {
  CHECK(to_string(termination::kind::none) == "none");
  CHECK(to_string(termination::kind::exited) == "exited");
  CHECK(to_string(termination::kind::signaled) == "signaled");
  CHECK(to_string(termination::kind::unknown) == "unknown");
}

TEST_CASE("a status table slot keeps every kind of termination",
          "[termination][status_table]") {
  namespace st = status_table;
  const termination cases[] = {
      {},
      {termination::kind::exited, 255},
      {termination::kind::signaled, SIGABRT, true},
      {termination::kind::signaled, SIGKILL},
      {termination::kind::unknown},
  };
  for (const auto& t : cases) {
    st::slot_payload p{};
    p.kind = static_cast<std::uint8_t>(st::slot_kind::process);
    st::pack_exit(p, t);
    st::pack_texts(p, "web", "");  // keeps the core-dump flag
    st::seal(p);
    INFO(describe(t));
    CHECK(st::payload_valid(p));
    CHECK(st::unpack_exit(p) == t);
  }
  st::slot_payload bad{};
  bad.exit_how = static_cast<std::uint8_t>(termination::kind::unknown) + 1;
  st::seal(bad);
  CHECK_FALSE(st::payload_valid(bad));
}

TEST_CASE("one table names every standard and real-time signal", "[signals]") {
  CHECK(signal_name(SIGTERM) == "SIGTERM");
  CHECK(signal_name(SIGSTKFLT) == "SIGSTKFLT");
  CHECK(signal_name(SIGRTMIN) == "SIGRTMIN");
  CHECK(signal_name(SIGRTMAX) == "SIGRTMAX");
  CHECK(signal_name(0).empty());
  CHECK(signal_name(SIGRTMAX + 1).empty());
  for (const auto& s : standard_signals) {
    CHECK(signal_name(s.number) == s.name);
    CHECK(s.name.substr(0, 3) == "SIG");
  }
}

TEST_CASE("signal names and numbers convert both ways", "[signals]") {
  CHECK(signal_from_name("TERM") == SIGTERM);
  CHECK(signal_from_name("SIGTERM") == SIGTERM);
  CHECK(signal_from_name("sigterm") == SIGTERM);
  CHECK(signal_from_name("15") == SIGTERM);
  CHECK(signal_from_name("KILL") == SIGKILL);
  CHECK(signal_from_name("IOT") == SIGABRT);
  CHECK(signal_from_name("RTMIN+2") == SIGRTMIN + 2);
  // kill(1)'s other form (a stranger found it refused).
  CHECK(signal_from_name("RTMAX-0") == SIGRTMAX);
  CHECK(signal_from_name("SIGRTMAX-3") == SIGRTMAX - 3);
  CHECK(signal_from_name("rtmax-" + std::to_string(SIGRTMAX - SIGRTMIN)) ==
        SIGRTMIN);
  CHECK_FALSE(
      signal_from_name("RTMAX-" + std::to_string(SIGRTMAX - SIGRTMIN + 1)));
  CHECK_FALSE(signal_from_name("RTMAX-"));
  CHECK_FALSE(signal_from_name("RTMAX--1"));
  CHECK_FALSE(signal_from_name("NOPE"));
  CHECK_FALSE(signal_from_name("0"));
  CHECK_FALSE(signal_from_name("999"));
  CHECK_FALSE(signal_from_name(""));
  CHECK(signal_name(SIGRTMIN + 1) == "SIGRTMIN+1");
  for (int s = 1; s <= SIGRTMAX; ++s) {
    if (signal_name(s).empty()) continue;  // 32, 33 are glibc-internal
    CHECK(signal_from_name(signal_name(s)) == s);
  }
}
