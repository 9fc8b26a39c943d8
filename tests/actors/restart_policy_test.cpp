// How one process actor treats its child's exits: exit codes and signals,
// restart policies, backoff, startretries, spawn failures, readiness, logs.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include <cerrno>
#include <fstream>

#include "test_support.hpp"
#include "vitrine/runtime.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::termination;

TEST_CASE_METHOD(runtime_fixture,
                 "exit codes and signals are recorded in last_exit",
                 "[process][exit]") {
  SECTION("exit 3 is recorded as exited with code 3") {
    auto spec = sh("exit3", "exit 3");
    spec.restart = restart_policy::temporary;
    auto h = rt.supervise(spec);
    REQUIRE(reaches(h, process_status::exited));
    CHECK(h.read()->last_exit == termination{termination::kind::exited, 3});
    CHECK(h.read()->pid == 0);
  }
  SECTION("kill -9 of itself is recorded as signaled with signal 9") {
    auto spec = sh("suicide", "kill -9 $$");
    spec.restart = restart_policy::temporary;
    auto h = rt.supervise(spec);
    REQUIRE(reaches(h, process_status::exited));
    CHECK(h.read()->last_exit ==
          termination{termination::kind::signaled, SIGKILL});
  }
  SECTION("a signal sent through the handle reaches the process group") {
    auto spec = sh("target", "exec sleep 30");
    spec.restart = restart_policy::temporary;
    auto h = rt.supervise(spec);
    REQUIRE(reaches(h, process_status::running));
    REQUIRE(h.signal(SIGUSR1));
    REQUIRE(reaches(h, process_status::exited));
    CHECK(h.read()->last_exit ==
          termination{termination::kind::signaled, SIGUSR1});
  }
}

SCENARIO_METHOD(runtime_fixture,
                "restart policies decide which exits are restarted",
                "[process][policy]") {
  GIVEN("a permanent process") {
    WHEN("it exits 0") {
      auto h = rt.supervise(sh("perm", "exit 0"));
      THEN("it is restarted anyway, again and again") {
        REQUIRE(reaches_when(
            h, [](const auto& s) { return s.restart_count >= 2; }));
        CHECK(h.read()->last_exit == termination{termination::kind::exited, 0});
      }
    }
  }
  GIVEN("a temporary process") {
    WHEN("it crashes with exit 1") {
      auto spec = sh("temp", "exit 1");
      spec.restart = restart_policy::temporary;
      auto h = rt.supervise(spec);
      THEN("it is never restarted") {
        REQUIRE(reaches(h, process_status::exited));
        CHECK(h.read()->restart_count == 0);
        CHECK(pids_in_history(h).size() == 1);
      }
    }
    WHEN("it is killed by a signal") {
      auto spec = sh("temp-sig", "kill -9 $$");
      spec.restart = restart_policy::temporary;
      auto h = rt.supervise(spec);
      THEN("it is not restarted either") {
        REQUIRE(reaches(h, process_status::exited));
        CHECK(h.read()->restart_count == 0);
      }
    }
  }
  GIVEN("a transient process expecting exit codes 0 and 2") {
    auto transient = [](std::string name, std::string script) {
      auto spec = sh(std::move(name), std::move(script));
      spec.restart = restart_policy::transient;
      spec.expected_exit_codes = {0, 2};
      return spec;
    };
    WHEN("it exits 2") {
      auto h = rt.supervise(transient("tr-2", "exit 2"));
      THEN("the exit was expected: it is not restarted") {
        REQUIRE(reaches(h, process_status::exited));
        CHECK(h.read()->restart_count == 0);
        CHECK(h.read()->last_exit == termination{termination::kind::exited, 2});
      }
    }
    WHEN("it exits 3") {
      auto h = rt.supervise(transient("tr-3", "exit 3"));
      THEN("the exit was unexpected: it is restarted") {
        REQUIRE(reaches_when(
            h, [](const auto& s) { return s.restart_count >= 1; }));
        CHECK(h.read()->last_exit == termination{termination::kind::exited, 3});
      }
    }
    WHEN("it is killed by a signal") {
      auto h = rt.supervise(transient("tr-sig", "kill -9 $$"));
      THEN("a signal is never expected: it is restarted") {
        REQUIRE(reaches_when(
            h, [](const auto& s) { return s.restart_count >= 1; }));
        CHECK(h.read()->last_exit ==
              termination{termination::kind::signaled, SIGKILL});
      }
    }
  }
}

namespace {

/// A shell script that counts its runs in `counter` and then behaves as the
/// `case` branches say (the last branch, `*)`, is the default).
std::string counted(const std::string& counter, const std::string& branches) {
  return "n=$(cat " + counter +
         " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " + counter +
         "; case $n in " + branches + " esac";
}

/// A shell program that may signal readiness on fd 3.
process_spec notifier(std::string name, std::string script,
                      std::chrono::milliseconds startsecs) {
  auto spec = sh(std::move(name), std::move(script));
  spec.launch.notify_fd = 3;
  spec.startsecs = startsecs;
  return spec;
}

}  // namespace

TEST_CASE_METHOD(runtime_fixture,
                 "restart delays grow by the multiplier between quick "
                 "crashes",
                 "[process][backoff]") {
  temp_dir dir;
  // Four crashes (delays of 50, 100, 200 and 400 ms), then a run that stays
  // up, so the history ends with exactly those four restarts.
  auto spec = sh("grower", counted(dir.file("runs"),
                                   "1|2|3|4) exit 1;; *) exec sleep 30;;"));
  spec.backoff.min = 50ms;
  spec.backoff.multiplier = 2.0;
  spec.backoff.max = 10'000ms;
  spec.backoff.reset_after = 60'000ms;
  auto h = rt.supervise(spec);
  REQUIRE(reaches_when(h, [](const auto& s) {
    return s.restart_count == 4 && s.status == process_status::running;
  }));
  const auto gaps = restart_gaps(h);
  for (std::size_t i = 0; i < gaps.size(); ++i)
    UNSCOPED_INFO("gap " << i << ": " << millis(gaps[i]) << " ms");
  REQUIRE(gaps.size() == 4);
  // A timer never fires early: each gap is at least its delay (1 ms of
  // slack for rounding between the two clocks' reads).
  CHECK(gaps[0] >= 49ms);
  CHECK(gaps[1] >= 99ms);
  CHECK(gaps[2] >= 199ms);
  CHECK(gaps[3] >= 399ms);
  // Growth, compared loosely (a factor of 4 apart, so a stalled machine
  // does not invert them).
  CHECK(gaps[2] > gaps[0]);
  CHECK(gaps[3] > gaps[1]);
}

TEST_CASE_METHOD(runtime_fixture,
                 "the restart delay is reset after a stable uptime of "
                 "reset_after",
                 "[process][backoff]") {
  temp_dir dir;
  // Runs 1-3 crash at once; run 4 stays up 1.2 s (> reset_after) then
  // crashes; run 5 stays up.
  auto spec = sh("resetter",
                 counted(dir.file("runs"),
                         "1|2|3) exit 1;; 4) sleep 1.2; exit 1;; *) exec sleep "
                         "30;;"));
  spec.backoff.min = 50ms;
  spec.backoff.multiplier = 2.0;
  spec.backoff.max = 10'000ms;
  spec.backoff.reset_after = 800ms;
  auto h = rt.supervise(spec);
  REQUIRE(reaches_when(h, [](const auto& s) {
    return s.restart_count == 4 && s.status == process_status::running;
  }));
  const auto gaps = restart_gaps(h);
  for (std::size_t i = 0; i < gaps.size(); ++i)
    UNSCOPED_INFO("gap " << i << ": " << millis(gaps[i]) << " ms");
  REQUIRE(gaps.size() == 4);
  CHECK(gaps[0] >= 49ms);
  CHECK(gaps[1] >= 99ms);
  CHECK(gaps[2] >= 199ms);
  // Without the reset the fourth delay would be 400 ms (and a gap is never
  // shorter than its delay); with it, it is back to 50 ms.
  CHECK(gaps[3] >= 49ms);
  CHECK(gaps[3] < 399ms);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a process that always exits before startsecs fails after "
                 "startretries + 1 quick exits",
                 "[process][startretries]") {
  auto spec = sh("quitter", "exit 1");
  spec.startsecs = 5000ms;
  spec.startretries = 2;
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::failed));
  auto s = h.read();
  CHECK(s->restart_count == 2);
  CHECK(s->pid == 0);
  CHECK(s->last_exit == termination{termination::kind::exited, 1});
  std::size_t spawns = 0;
  for (const auto& t : history_of(h)) {
    if (t.status == process_status::starting) ++spawns;
    CHECK(t.status != process_status::running);
  }
  CHECK(spawns == 3);
  CHECK(pids_in_history(h).size() == 3);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a program that vanishes at run time gives a clear failed "
                 "state",
                 "[process][spawn]") {
  temp_dir dir;
  const auto program = dir.file("vanishing");
  {
    // A program that deletes itself during its first run.
    std::ofstream out(program);
    out << "#!/bin/sh\nrm -f \"$0\"\nexit 0\n";
  }
  REQUIRE(::chmod(program.c_str(), 0755) == 0);
  process_spec spec;
  spec.name = "vanishing";
  spec.launch.argv = {program};
  spec.restart = restart_policy::permanent;
  spec.startsecs = 0ms;
  spec.backoff.min = 10ms;
  spec.backoff.jitter = 0;
  spec.stop_timeout = 1000ms;
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::failed));
  auto s = h.read();
  INFO(describe(*s));
  CHECK(s->spawn_errno == ENOENT);
  CHECK(s->spawn_error().find(program) != std::string_view::npos);
  CHECK(s->spawn_error().find("No such file") != std::string_view::npos);
  CHECK(s->pid == 0);
  CHECK(s->last_exit == termination{termination::kind::exited, 0});
  CHECK(pids_in_history(h).size() == 1);
  CHECK_FALSE(file_exists(program));
}

TEST_CASE_METHOD(runtime_fixture,
                 "a process that signals readiness on its notify fd runs "
                 "long before startsecs",
                 "[process][readiness]") {
  const auto spec =
      notifier("notifier", "sleep 0.2; echo >&3; exec sleep 30", 60'000ms);
  const auto begin = clock::now();
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::running, 30'000ms));
  const auto took = clock::now() - begin;
  INFO("running after " << millis(took) << " ms");
  CHECK(took >= 150ms);  // not before the script wrote its line
  CHECK(took < 30s);     // well before startsecs
  const auto history = history_of(h);
  REQUIRE(history.size() == 2);
  CHECK(history[0].status == process_status::starting);
  CHECK(history[1].status == process_status::running);
  CHECK(history[1].pid == history[0].pid);
}

TEST_CASE_METHOD(runtime_fixture,
                 "with a notify fd and startsecs 0 a process runs at once, "
                 "and its later readiness line costs it nothing",
                 "[process][readiness]") {
  // startsecs 0 means running at once, notify fd or not: one that never
  // wrote its line stayed `starting` for good (an outside tester), and a
  // supervisor's start waited on it.
  const auto silent = notifier("silent", "exec sleep 30", 0ms);
  auto added = std::async(std::launch::async, [&] {
    return rt.supervise(silent);  // returns once the start has ended
  });
  REQUIRE(added.wait_for(10s) == std::future_status::ready);
  CHECK(added.get().read()->status == process_status::running);
  // A line written later is read and dropped: no SIGPIPE, no restart.
  auto h = rt.supervise(
      notifier("notifier", "sleep 0.3; echo >&3; exec sleep 30", 0ms));
  const auto state = h.read();
  CHECK(state->status == process_status::running);
  const pid_t pid = state->pid;
  std::this_thread::sleep_for(600ms);
  CHECK(h.read()->status == process_status::running);
  CHECK(h.read()->pid == pid);
  CHECK(h.read()->restart_count == 0);
}

TEST_CASE_METHOD(runtime_fixture,
                 "captured output is rotated by size through the runtime",
                 "[process][logs]") {
  temp_dir dir;
  const auto log = dir.file("out.log");
  // 400 lines of 64 bytes = 25 KiB, then a marker line.
  auto spec = sh("chatty",
                 "i=0; while [ $i -lt 400 ]; do echo "
                 "'0123456789abcdef0123456789abcdef0123456789abcdef012345678"
                 "9abcde'; i=$((i+1)); done; echo END");
  spec.restart = restart_policy::temporary;
  spec.launch.stdout_target = {os::stdio_target::kind::capture, log};
  spec.logs.max_bytes = 4096;  // the smallest there is
  spec.logs.backups = 2;
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::exited));
  // The exit and the last output travel separately: wait for the marker.
  REQUIRE(eventually(
      [&] { return read_file(log).find("END\n") != std::string::npos; }));
  CHECK(h.read()->last_exit == termination{termination::kind::exited, 0});
  for (const auto& path : {log, log + ".1", log + ".2"}) {
    INFO(path << ": " << file_size(path) << " bytes");
    CHECK(file_exists(path));
    CHECK(file_size(path) > 0);
    CHECK(file_size(path) <= 4096);
  }
  CHECK_FALSE(file_exists(log + ".3"));
  // Rotation keeps whole lines: the newest backup ends with a full line.
  const auto newest_backup = read_file(log + ".1");
  REQUIRE_FALSE(newest_backup.empty());
  CHECK(newest_backup.back() == '\n');
}
