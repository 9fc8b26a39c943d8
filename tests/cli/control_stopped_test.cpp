// `vitrine ctl`, `vitrine reload` and `vitrine status` against a real
// `vitrine run` frozen by SIGSTOP: the clients return at their --timeout
// with exit 4 and say the run is stopped, and the commands they gave up on
// are not carried out once the run is continued (their deadline passed).
#include <signal.h>

#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "cli_driver.hpp"
#include "commands.hpp"
#include "live_run.hpp"
#include "support/freeze.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;
using vitrine::status_slot;

namespace {

using clock = std::chrono::steady_clock;

/// SIGSTOPs `pid` for its lifetime; SIGCONT at resume() or destruction,
/// so that a failing check never leaves a frozen run behind.
class frozen {
 public:
  explicit frozen(pid_t pid) : pid_(pid) {
    REQUIRE(vitrine::test::freeze(pid_));
  }
  ~frozen() { resume(); }
  frozen(const frozen&) = delete;
  frozen& operator=(const frozen&) = delete;
  void resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
    pid_ = 0;
  }

 private:
  pid_t pid_;
};

/// A client command and how long it took.
struct timed_result {
  cli_result result;
  double seconds = 0;
};

timed_result timed(const live_run& run, std::vector<std::string> args) {
  const auto start = clock::now();
  timed_result out;
  out.result = run.cli(std::move(args));
  out.seconds = std::chrono::duration<double>(clock::now() - start).count();
  return out;
}

/// Whether `name`'s pid changed within `limit` (it should not: polling this
/// long gives a late command every chance to show).
bool pid_changes(const live_run& run, const std::string& name, pid_t pid,
                 std::chrono::milliseconds limit) {
  const auto deadline = clock::now() + limit;
  vitrine::status_reader reader{run.state() + "/status"};
  while (clock::now() < deadline) {
    status_slot slot{};
    if (reader.find(name, slot) == vitrine::status_error::none &&
        slot.pid != pid)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

/// The message a client prints about a stopped run of pid `pid`.
std::string stopped_text(pid_t pid) {
  return "is stopped (SIGSTOP?): resume it with kill -CONT " +
         std::to_string(pid);
}

}  // namespace

TEST_CASE(
    "ctl against a SIGSTOPped run returns at --timeout with exit 4, and "
    "the command is not carried out once the run is continued",
    "[cli][ctl][stopped]") {
  live_run run{demo_config};
  const auto api = run.wait_status("api", "running");
  const auto db = run.wait_status("db", "running");
  const pid_t run_pid = run.process().pid();
  frozen freeze{run_pid};

  const auto waited = timed(run, {"ctl", "restart", "api", "--timeout", "1"});
  INFO(waited.result.output);
  CHECK(waited.result.code == vitrine::cli::exit_not_running);
  CHECK(contains(waited.result.output, stopped_text(run_pid)));
  CHECK(waited.seconds >= 1.0);
  CHECK(waited.seconds < 3.0);

  const auto sent =
      timed(run, {"ctl", "restart", "db", "--timeout", "1", "--no-wait"});
  INFO(sent.result.output);
  CHECK(sent.result.code == vitrine::cli::exit_not_running);
  CHECK(contains(sent.result.output, stopped_text(run_pid)));
  CHECK(sent.seconds < 3.0);

  freeze.resume();
  CHECK_FALSE(pid_changes(run, "api", api.pid, 3s));
  CHECK_FALSE(pid_changes(run, "db", db.pid, 100ms));

  // Continued, the run serves new requests as before.
  const auto now = run.cli({"ctl", "restart", "api", "--timeout", "10"});
  INFO(now.output);
  CHECK(now.code == 0);
  CHECK(run.wait_status("api", "running").pid != api.pid);
}

TEST_CASE(
    "reload against a SIGSTOPped run returns at --timeout with exit 4, and "
    "the new file is not applied once the run is continued",
    "[cli][reload][stopped]") {
  live_run run{demo_config};
  const auto api = run.wait_status("api", "running");
  run.wait_status("db", "running");
  const pid_t run_pid = run.process().pid();
  {
    frozen freeze{run_pid};
    // api's command changes: a reload would restart it with a new pid.
    std::string changed = demo_config;
    changed.replace(changed.find("\"1000\""), 6, "\"2000\"");
    run.dir().write("run.toml", changed);

    const auto reload = timed(run, {"reload", "--timeout", "1"});
    INFO(reload.result.output);
    CHECK(reload.result.code == vitrine::cli::exit_not_running);
    CHECK(contains(reload.result.output, stopped_text(run_pid)));
    CHECK(reload.seconds >= 1.0);
    CHECK(reload.seconds < 3.0);
  }
  CHECK_FALSE(pid_changes(run, "api", api.pid, 3s));
  CHECK_FALSE(contains(read_file(run.log()), "reload:"));
}

TEST_CASE("status on a SIGSTOPped run says it is stopped (exit 4)",
          "[cli][status][stopped]") {
  live_run run{demo_config};
  run.wait_status("api", "running");
  const pid_t run_pid = run.process().pid();
  frozen freeze{run_pid};
  const auto status = run.cli({"status"});
  INFO(status.output);
  CHECK(status.code == vitrine::cli::exit_not_running);
  CHECK(contains(status.output, stopped_text(run_pid)));
  CHECK_FALSE(contains(status.output, "is gone"));
  CHECK(contains(status.output, "api"));
}

TEST_CASE(
    "a request the run reads past its deadline_ms is answered 'expired' "
    "and not carried out",
    "[cli][ctl][deadline]") {
  live_run run{demo_config};
  const auto api = run.wait_status("api", "running");
  const auto reply = raw_exchange(
      run.state() + "/control",
      R"({"version":1,"command":"restart","names":["api"],"deadline_ms":1})"
      "\n");
  INFO(reply);
  CHECK(contains(reply, "\"expired\":true"));
  CHECK(contains(reply, "the request expired"));
  CHECK(contains(reply, "nothing was done"));
  CHECK_FALSE(pid_changes(run, "api", api.pid, 1s));
}
