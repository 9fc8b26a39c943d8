// `vitrine status`, `vitrine ctl` and `vitrine reload` against real
// `vitrine run` processes: the state directory, the shared status table,
// the control socket (malformed requests, silent clients, another uid).
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "cli_driver.hpp"
#include "commands.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;
using vitrine::status_slot;

namespace {

using clock = std::chrono::steady_clock;

/// A `vitrine run --plain --state-dir DIR/state` of `toml`.
class live_run {
 public:
  explicit live_run(const std::string& toml)
      : config_(dir_.write("run.toml", toml)),
        state_(dir_.file("state")),
        log_(dir_.file("run.log")),
        process_(std::make_unique<cli_process>(
            std::vector<std::string>{"run", "--plain", "--state-dir", state_,
                                     config_},
            log_)) {}

  const std::string& state() const { return state_; }
  const std::string& log() const { return log_; }
  const temp_dir& dir() const { return dir_; }
  cli_process& process() { return *process_; }

  /// `vitrine ARGS... --state-dir STATE`.
  cli_result cli(std::vector<std::string> args) const {
    args.push_back("--state-dir");
    args.push_back(state_);
    return run_cli(args);
  }

  /// Waits until the table's slot `name` satisfies `pred`; the slot then.
  status_slot wait_slot(const std::string& name,
                        const std::function<bool(const status_slot&)>& pred,
                        std::chrono::milliseconds limit = 20s) const {
    const auto deadline = clock::now() + limit;
    status_slot slot{};
    for (;;) {
      try {
        vitrine::status_reader reader{state_ + "/status"};
        if (reader.find(name, slot) == vitrine::status_error::none &&
            pred(slot))
          return slot;
      } catch (const std::exception&) {
        // not created yet
      }
      if (clock::now() >= deadline) {
        INFO("slot " << name << " never matched; run log:\n"
                     << read_file(log_));
        FAIL("timed out");
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  status_slot wait_status(const std::string& name, const std::string& status,
                          std::chrono::milliseconds limit = 20s) const {
    return wait_slot(
        name,
        [&](const status_slot& s) { return vitrine::status_name(s) == status; },
        limit);
  }

 private:
  temp_dir dir_;
  std::string config_, state_, log_;
  std::unique_ptr<cli_process> process_;
};

const std::string demo = R"(
[supervisor]
name = "demo"

[[program]]
name = "api"
command = ["sleep", "1000"]
startsecs_ms = 100

[[program]]
name = "lazy"
command = ["sleep", "1000"]
autostart = false
startsecs_ms = 100

[[group]]
name = "backend"
[[group.program]]
name = "db"
command = ["sleep", "1000"]
startsecs_ms = 100
[[group.program]]
name = "cache"
command = ["sleep", "1000"]
startsecs_ms = 100
)";

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

/// Connects to the control socket, sends `bytes` (nothing if empty), reads
/// the reply until the server closes.
std::string raw_exchange(const std::string& socket_path,
                         const std::string& bytes) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(),
               sizeof address.sun_path - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address),
                    sizeof address) == 0);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n =
        ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse before reading it all
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
    reply.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return reply;
}

}  // namespace

TEST_CASE(
    "vitrine status reads processes and supervisors from the shared table; "
    "an unknown name is an error naming it",
    "[cli][status]") {
  live_run run{demo};
  const auto api = run.wait_status("api", "running");
  run.wait_status("cache", "running");

  const auto all = run.cli({"status"});
  INFO(all.output);
  CHECK(all.code == 0);
  CHECK(contains(all.output, "supervisor demo: running"));
  CHECK(contains(all.output,
                 "supervisor backend: running, restarts 0, 2 children"));
  CHECK(contains(all.output, "api    running  " + std::to_string(api.pid)));
  CHECK(contains(all.output, "lazy   stopped"));

  const auto one = run.cli({"status", "api", "--json"});
  INFO(one.output);
  CHECK(one.code == 0);
  CHECK(contains(one.output, "\"pid\": " + std::to_string(api.pid)));
  CHECK_FALSE(contains(one.output, "\"lazy\""));

  const auto unknown = run.cli({"status", "api", "nope"});
  CHECK(unknown.code == 1);
  CHECK(contains(unknown.output, "no process or supervisor named 'nope'"));
}

TEST_CASE(
    "after vitrine run is SIGKILLed, status says it is gone (exit 4) and "
    "shows the last states; ctl finds no run (exit 4)",
    "[cli][status]") {
  live_run run{demo};
  run.wait_status("db", "running");
  ::kill(run.process().pid(), SIGKILL);
  REQUIRE(run.process().wait(10s) == -SIGKILL);

  const auto status = run.cli({"status"});
  INFO(status.output);
  CHECK(status.code == vitrine::cli::exit_not_running);
  CHECK(contains(status.output, "is gone"));
  CHECK(contains(status.output, "api"));
  const auto ctl = run.cli({"ctl", "stop", "api"});
  INFO(ctl.output);
  CHECK(ctl.code == vitrine::cli::exit_not_running);
  CHECK(contains(ctl.output, "no vitrine run serves"));
}

TEST_CASE("a second vitrine run on the same state directory is refused",
          "[cli][state_dir]") {
  live_run run{demo};
  run.wait_status("api", "running");
  const auto second = run.cli({"run", "--plain", run.dir().file("run.toml")});
  INFO(second.output);
  CHECK(second.code == 1);
  CHECK(contains(second.output, run.state()));
  run.wait_status("api", "running");  // the first one is untouched

  // The default state directory is the top supervisor's name.
  const auto config = run.dir().file("run.toml");
  cli_process first{{"run", "--plain", config}, run.dir().file("a.log")};
  REQUIRE(
      wait_for_text(run.dir().file("a.log"), "api running", 20s, first.pid()));
  const auto again = run_cli({"run", "--plain", config});
  INFO(again.output);
  CHECK(again.code == 1);
  CHECK(contains(again.output, "/vitrine/demo"));
  const auto status =
      run_cli({"status", "--state-dir",
               std::string{std::getenv("XDG_RUNTIME_DIR")} + "/vitrine/demo"});
  CHECK(status.code == 0);
}

TEST_CASE(
    "a state directory that is world-writable, a symbolic link or owned by "
    "another uid is refused",
    "[cli][state_dir]") {
  temp_dir dir;
  const auto config = dir.write("run.toml", demo);
  const auto refused = [&](const std::string& state) {
    const auto result =
        run_cli({"run", "--plain", "--state-dir", state, config});
    INFO(result.output);
    CHECK(result.code == 1);
    CHECK(contains(result.output, "vitrine: " + state));
    CHECK_FALSE(contains(result.output, "api running"));
  };
  const auto open = dir.file("open");
  REQUIRE(::mkdir(open.c_str(), 0700) == 0);
  REQUIRE(::chmod(open.c_str(), 0777) == 0);
  refused(open);

  const auto real = dir.file("real");
  REQUIRE(::mkdir(real.c_str(), 0700) == 0);
  const auto link = dir.file("link");
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  refused(link);

  if (::geteuid() == 0) {
    const auto other = dir.file("other");
    REQUIRE(::mkdir(other.c_str(), 0700) == 0);
    REQUIRE(::chown(other.c_str(), 65534, 65534) == 0);
    refused(other);
  }
}

TEST_CASE(
    "ctl start, stop and restart a running or stopped process wait for the "
    "effect",
    "[cli][ctl]") {
  live_run run{demo};
  const auto before = run.wait_status("api", "running");

  auto r = run.cli({"ctl", "restart", "api"});
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto after = run.wait_status("api", "running", 1s);
  CHECK(after.pid != before.pid);
  CHECK(contains(r.output, "api: running pid=" + std::to_string(after.pid)));

  r = run.cli({"ctl", "stop", "api"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(contains(r.output, "api: stopped"));
  CHECK(vitrine::status_name(run.wait_status("api", "stopped", 1s)) ==
        "stopped");
  CHECK(process_gone(after.pid));

  r = run.cli({"ctl", "start", "api", "lazy"});
  INFO(r.output);
  CHECK(r.code == 0);
  const auto lazy = run.wait_status("lazy", "running", 1s);
  CHECK(contains(r.output, "lazy: running pid=" + std::to_string(lazy.pid)));

  // --no-wait returns at once; the effect follows.
  r = run.cli({"ctl", "restart", "--no-wait", "lazy"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(contains(r.output, "lazy: sent;"));
  run.wait_slot("lazy", [&](const status_slot& s) {
    return vitrine::status_name(s) == "running" && s.pid != lazy.pid;
  });
}

TEST_CASE(
    "ctl against processes in backoff and failed, a stopped supervisor, a "
    "timeout, signals and unknown names",
    "[cli][ctl]") {
  temp_dir flags;
  const auto flag = flags.file("healthy");
  live_run run{demo + R"(
[[program]]
name = "crasher"
command = "exit 3"
startsecs_ms = 0
backoff = { min_ms = 60000, max_ms = 60000, jitter = 0.0 }

[[program]]
name = "doomed"
command = "test -e )" +
               flag + R"( || exit 3; exec sleep 1000"
startretries = 0
startsecs_ms = 200

[[program]]
name = "slow"
command = ["sleep", "1000"]
autostart = false
startsecs_ms = 5000
)"};
  run.wait_status("crasher", "backoff");
  run.wait_status("doomed", "failed");

  SECTION("stop a process in backoff") {
    const auto r = run.cli({"ctl", "stop", "crasher"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "crasher: stopped"));
  }
  SECTION("start a failed process: failing again, then healthy") {
    auto r = run.cli({"ctl", "start", "doomed"});
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK(contains(r.output, "doomed: FAILED: is failed"));
    flags.write("healthy", "");
    r = run.cli({"ctl", "start", "doomed"});
    INFO(r.output);
    CHECK(r.code == 0);
    const auto slot = run.wait_status("doomed", "running", 1s);
    CHECK(
        contains(r.output, "doomed: running pid=" + std::to_string(slot.pid)));
  }
  SECTION("stop and start a supervisor with its children") {
    const auto db = run.wait_status("db", "running");
    auto r = run.cli({"ctl", "stop", "backend"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "backend: stopped"));
    run.wait_status("db", "stopped", 1s);
    run.wait_status("cache", "stopped", 1s);
    r = run.cli({"ctl", "start", "backend"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "backend: running"));
    CHECK(run.wait_status("db", "running", 1s).pid != db.pid);
    run.wait_status("cache", "running", 1s);
    const auto cache = run.wait_status("cache", "running");
    r = run.cli({"ctl", "restart", "backend"});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "backend: running"));
    const auto restarted = run.wait_status("cache", "running", 1s);
    CHECK(restarted.pid != cache.pid);
    // Without waiting, a supervisor's restart still stops, then starts.
    r = run.cli({"ctl", "restart", "--no-wait", "backend"});
    INFO(r.output);
    CHECK(r.code == 0);
    run.wait_slot("cache", [&](const status_slot& s) {
      return vitrine::status_name(s) == "running" && s.pid != restarted.pid;
    });
  }
  SECTION("a wait that reaches --timeout") {
    const auto r = run.cli({"ctl", "start", "--timeout", "0.3", "slow"});
    INFO(r.output);
    CHECK(r.code == vitrine::cli::exit_ctl_timeout);
    CHECK(contains(r.output,
                   "slow: FAILED: timed out after 300 ms (status: starting)"));
  }
  SECTION("signals") {
    const auto api = run.wait_status("api", "running");
    auto r = run.cli({"ctl", "signal", "KILL", "api"});
    INFO(r.output);
    CHECK(r.code == 0);
    run.wait_slot("api", [&](const status_slot& s) {
      return s.restarts == 1 && s.pid != api.pid && s.pid != 0;
    });
    r = run.cli({"ctl", "signal", "TERM", "lazy"});
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK(contains(r.output,
                   "lazy: FAILED: has no child to signal (status: stopped)"));
    r = run.cli({"ctl", "signal", "TERM", "backend"});
    CHECK(r.code == 1);
    CHECK(contains(r.output, "'backend' is a supervisor"));
    r = run.cli({"ctl", "signal", "NOSUCH", "api"});
    CHECK(r.code == 2);
  }
  SECTION("an unknown name is an error naming it, and nothing is done") {
    const auto api = run.wait_status("api", "running");
    const auto r = run.cli({"ctl", "stop", "api", "ghost"});
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK(contains(r.output, "unknown name 'ghost': nothing was done"));
    CHECK(run.wait_status("api", "running").pid == api.pid);
  }
  SECTION("reload is answered (not available yet)") {
    const auto r = run.cli({"reload"});
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK(contains(r.output, "reload is not available"));
  }
}

TEST_CASE(
    "malformed, oversized and silent clients get an error reply; a client "
    "leaving mid-wait is harmless; the socket goes away with the run",
    "[cli][ctl][protocol]") {
  live_run run{demo + R"(
[[program]]
name = "slow"
command = ["sleep", "1000"]
autostart = false
startsecs_ms = 5000
)"};
  const auto api = run.wait_status("api", "running");
  const auto socket = run.state() + "/control";
  struct stat st {};
  REQUIRE(::stat(socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(S_ISSOCK(st.st_mode));

  CHECK(contains(raw_exchange(socket, "garbage\n"), "malformed request"));
  CHECK(contains(raw_exchange(socket, "{\"version\":9,\"command\":\"stop\"}\n"),
                 "unsupported protocol version 9"));
  CHECK(contains(raw_exchange(socket, std::string(600'000, '{')),
                 "request too large"));
  CHECK(
      contains(raw_exchange(socket, ""), "timed out waiting for the request"));
  CHECK(contains(raw_exchange(socket, std::string{"\0\xff\n", 3}),
                 "malformed request"));

  {  // Asks to wait for a 5 s start, then hangs up.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address),
                      sizeof address) == 0);
    const std::string request =
        R"({"version":1,"command":"start","names":["slow"]})"
        "\n";
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    run.wait_status("slow", "starting");
    ::close(fd);
  }
  const auto r = run.cli({"ctl", "stop", "slow"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(run.wait_status("api", "running").pid == api.pid);

  // A stop while a client waits: the wait ends, the run stops cleanly and
  // the client is told there is no reply.
  const auto client_log = run.dir().file("client.log");
  cli_process waiting{{"ctl", "start", "slow", "--state-dir", run.state()},
                      client_log};
  run.wait_status("slow", "starting");
  ::kill(run.process().pid(), SIGTERM);
  CHECK(run.process().wait(30s) == 0);
  CHECK(waiting.wait(10s) == 1);
  CHECK(contains(read_file(client_log), "no reply"));
  CHECK_FALSE(std::filesystem::exists(socket));
  CHECK_FALSE(std::filesystem::exists(run.state() + "/status"));
  CHECK(process_gone(api.pid));
}

TEST_CASE("another uid is refused (when the tests run as root)",
          "[cli][ctl][permissions]") {
  if (::geteuid() != 0) {
    SUCCEED("not root: the socket's 0600 mode alone keeps other uids out");
    return;
  }
  live_run run{demo};
  const auto api = run.wait_status("api", "running");

  // As `nobody` through the command: the state directory is refused.
  const auto out = run.dir().file("nobody.out");
  const std::string command =
      "setpriv --reuid=65534 --regid=65534 "
      "--clear-groups " VITRINE_CLI_PATH " ctl stop api --state-dir " +
      run.state() + " > " + out + " 2>&1";
  const int status = std::system(command.c_str());
  INFO(read_file(out));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) != 0);

  // As `nobody` keeping CAP_DAC_OVERRIDE, so that the path is reachable:
  // the server's SO_PEERCRED check refuses it.
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const std::string socket = run.state() + "/control";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    if (::prctl(PR_SET_KEEPCAPS, 1) != 0 || ::setgroups(0, nullptr) != 0 ||
        ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0)
      ::_exit(10);
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    data[0].permitted = data[0].effective = 1u << CAP_DAC_OVERRIDE;
    if (::syscall(SYS_capset, &header, data) != 0) ::_exit(11);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address))
      ::_exit(12);
    const char request[] =
        "{\"version\":1,\"command\":\"stop\",\"names\":[\"api\"]}\n";
    // The server may refuse (and close) before this arrives: no SIGPIPE.
    (void)::send(fd, request, sizeof request - 1, MSG_NOSIGNAL);
    char buffer[512];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
      if (::write(pipe_fds[1], buffer, static_cast<std::size_t>(n)) < 0)
        ::_exit(14);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string reply;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    reply.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int child_status = 0;
  REQUIRE(::waitpid(child, &child_status, 0) == child);
  INFO(reply);
  REQUIRE(WIFEXITED(child_status));
  CHECK(WEXITSTATUS(child_status) == 0);
  CHECK(contains(reply, "permission denied: uid 65534 is neither the owner"));
  CHECK(run.wait_status("api", "running").pid == api.pid);
}
