// Faults: the fds run out while a runtime works (in a forked child, so
// the test runner's own fd table is left alone), then come back.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "fault_helpers.hpp"
#include "reliability_support.hpp"
#include "support/files.hpp"
#include "test_support.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_state;
using core::process_status;

namespace {

/// Steps of fd_exhaustion_child(); its exit code names the one that failed.
enum fd_step : int {
  fd_ok = 0,
  keeper_not_running = 10,
  cannot_lower_limit,
  cannot_exhaust,
  no_backoff_with_emfile,
  no_failed_with_emfile,
  no_retry_while_exhausted,
  retries_not_counted,
  keeper_not_stopped,
  reads_slow,
  no_recovery,
  failed_not_restartable,
  keeper_not_restarted,
  spawn_error_not_cleared,
  children_left,
};

const char* describe_step(int code) {
  switch (code) {
    case fd_ok:
      return "ok";
    case keeper_not_running:
      return "the keeper did not run before the fds were used up";
    case cannot_lower_limit:
      return "setrlimit(RLIMIT_NOFILE) failed";
    case cannot_exhaust:
      return "filling the fd table did not end with EMFILE";
    case no_backoff_with_emfile:
      return "no backoff state with spawn_errno EMFILE and its text";
    case no_failed_with_emfile:
      return "startretries 0: no failed state with EMFILE and its text";
    case no_retry_while_exhausted:
      return "the retrying process stopped retrying while fds were out";
    case retries_not_counted:
      return "the failed spawns it retried are not in its restart_count";
    case keeper_not_stopped:
      return "the running keeper could not be stopped while fds were out";
    case reads_slow:
      return "reading states got slow while fds were out";
    case no_recovery:
      return "the retrying process did not reach running once fds came back";
    case failed_not_restartable:
      return "the failed process did not run after start() once fds came back";
    case keeper_not_restarted:
      return "the keeper did not run again after start()";
    case spawn_error_not_cleared:
      return "spawn_errno/spawn_error still set after a successful spawn";
    case children_left:
      return "children were left after the runtime was destroyed";
    case -1:
      return "the child ran past its time limit and was killed";
    default:
      return "unexpected exit (crash or exception; see stderr)";
  }
}

bool has_emfile(const process_state& s) {
  return s.spawn_errno == EMFILE &&
         s.spawn_error().find("Too many open files") != std::string_view::npos;
}

int report_step(int code, const process_handle& h) {
  std::fprintf(stderr, "fd exhaustion child: %s; state %s\n",
               describe_step(code), describe(*h.read()).c_str());
  return code;
}

/// Runs in a forked child: the fds run out while a runtime works, then come
/// back. The runtime is created first, with the fds it needs, and a keeper
/// runs; then RLIMIT_NOFILE is lowered to just above the highest open fd
/// and every free fd below it is taken, but `free_left`: fewer than a spawn
/// with two captured streams needs (two pipes, a pidfd, /dev/null).
int fd_exhaustion_child() {
  constexpr int free_left = 2;
  temp_dir dir;
  {
    runtime rt;
    auto keeper = rt.supervise(sh("keeper", "exec sleep 1000"));
    if (!keeper.wait_for_status(process_status::running, in(patience)))
      return report_step(keeper_not_running, keeper);

    rlimit old{};
    ::getrlimit(RLIMIT_NOFILE, &old);
    const auto open = os::open_fds();
    const int highest = *std::max_element(open.begin(), open.end());
    rlimit low{static_cast<rlim_t>(highest + 1 + free_left), old.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0) return cannot_lower_limit;
    std::vector<int> fillers;
    for (;;) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fillers.push_back(fd);
    }
    if (errno != EMFILE || fillers.size() < free_left) return cannot_exhaust;
    for (int i = 0; i < free_left; ++i) {
      ::close(fillers.back());
      fillers.pop_back();
    }

    auto needy = [&](std::string name, unsigned retries) {
      auto spec = captured(name, "exec sleep 1000", dir.file(name + ".out"),
                           dir.file(name + ".err"));
      spec.startretries = retries;
      spec.backoff.min = 20ms;
      spec.backoff.max = 100ms;
      return spec;
    };
    auto retrying = rt.supervise(needy("retrying", 1000));
    if (!retrying.wait_until(
            [](const process_state& s) {
              return s.status == process_status::backoff && has_emfile(s);
            },
            in(patience)))
      return report_step(no_backoff_with_emfile, retrying);
    auto giving_up = rt.supervise(needy("giving-up", 0));
    if (!giving_up.wait_until(
            [](const process_state& s) {
              return s.status == process_status::failed && has_emfile(s);
            },
            in(patience)))
      return report_step(no_failed_with_emfile, giving_up);
    // Still retrying, still failing with the same clear error.
    const auto version = retrying.read()->version;
    if (!retrying.wait_until(
            [version](const process_state& s) {
              return s.version >= version + 2 &&
                     s.status == process_status::backoff && has_emfile(s);
            },
            in(patience)))
      return report_step(no_retry_while_exhausted, retrying);
    // Each retry is a restart, counted by the process as by its supervisor
    // (an outside tester saw restarts 0 on programs whose top counted
    // 1,170). The first spawn was not one.
    const auto retried = *retrying.read();
    if (retried.restart_count < 2 || retried.restart_count >= retried.version)
      return report_step(retries_not_counted, retrying);

    // The runtime keeps working: stopping needs no new fd, reads none.
    keeper.stop();
    if (!keeper.wait_for_status(process_status::stopped, in(patience)))
      return report_step(keeper_not_stopped, keeper);
    const double read_ns = nanos_per_read(retrying, 100'000);
    std::fprintf(stderr, "fd exhaustion child: %.0f ns per read\n", read_ns);
    if (read_ns < 0 || read_ns > 50'000)
      return report_step(reads_slow, retrying);

    // The fds come back.
    for (int fd : fillers) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &old);
    if (!retrying.wait_for_status(process_status::running, in(patience)))
      return report_step(no_recovery, retrying);
    giving_up.start();
    if (!giving_up.wait_for_status(process_status::running, in(patience)))
      return report_step(failed_not_restartable, giving_up);
    keeper.start();
    if (!keeper.wait_for_status(process_status::running, in(patience)))
      return report_step(keeper_not_restarted, keeper);
    for (const auto& h : {retrying, giving_up})
      if (h.read()->spawn_errno != 0 || !h.read()->spawn_error().empty())
        return report_step(spawn_error_not_cleared, h);
  }
  return os::children_of(::getpid()).empty() ? fd_ok : children_left;
}

}  // namespace

TEST_CASE(
    "when fds run out, spawns fail with a clear EMFILE state, the runtime "
    "keeps working, and the processes run again once fds come back",
    "[reliability][faults]") {
  leak_checker leaks;
  // In a child process: lowering RLIMIT_NOFILE and filling the fd table
  // would disturb the test runner itself.
  const auto begin = clock::now();
  const int code = reliability::run_in_child(fd_exhaustion_child, 180'000ms);
  INFO("child exit " << code << ": " << describe_step(code) << " after "
                     << millis(clock::now() - begin) << " ms");
  CHECK(code == fd_ok);
}
