// The control socket of a real `vitrine run`: malformed, oversized and
// silent clients, a client hanging up mid-wait, a stop during a wait, and
// another uid (SO_PEERCRED) when the tests run as root.
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

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cli_driver.hpp"
#include "commands.hpp"
#include "control_protocol.hpp"
#include "live_run.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;
using vitrine::status_slot;
namespace control = vitrine::cli::control;

namespace {
const std::string& demo = demo_config;
}  // namespace

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
  CHECK(contains(
      raw_exchange(socket, std::string(control::max_request_bytes + 1, '{')),
      "request too large"));
  CHECK(
      contains(raw_exchange(socket, ""), "timed out waiting for the request"));
  CHECK(contains(raw_exchange(socket, std::string{"\0\xff\n", 3}),
                 "malformed request"));
  {  // The most `vitrine ctl` takes (an outside tester found it refused as
     // "request too large"): 4,096 names of 255 bytes, each byte a control
     // character that JSON escapes as \u00XX, a request of ~6.3 MB.
    std::vector<std::string> args{"ctl", "stop"};
    for (int i = 0; i < 4096; ++i) {
      std::string name(255, '\x01');
      for (int digit = 0, rest = i; digit < 3; ++digit, rest /= 31)
        name[digit] = static_cast<char>(1 + rest % 31);
      args.push_back(name);
    }
    const auto r = run.cli(args);
    INFO(r.output.substr(0, 2000));
    CHECK(r.code == 1);
    CHECK(r.output.starts_with("vitrine: unknown names '"));
    CHECK(contains(r.output, "': nothing was done\n"));
    CHECK_FALSE(contains(r.output, "request too large"));
  }
  {  // 4,096 times one name is one command, one line.
    std::vector<std::string> args{"ctl", "stop"};
    args.insert(args.end(), 4096, std::string{"lazy"});
    const auto r = run.cli(args);
    INFO(r.output.substr(0, 2000));
    CHECK(r.code == 0);
    CHECK(r.output == "lazy: stopped\n");
  }

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
  // the client is told what became of its command, with a line for its
  // name either way (stopped, not started; or its wait abandoned, if the
  // stop reached the wait first).
  const auto client_log = run.dir().file("client.log");
  cli_process waiting{{"ctl", "start", "slow", "--state-dir", run.state()},
                      client_log};
  run.wait_status("slow", "starting");
  ::kill(run.process().pid(), SIGTERM);
  CHECK(run.process().wait(30s) == 0);
  CHECK(waiting.wait(10s) == 1);
  const auto told = read_file(client_log);
  INFO(told);
  CHECK((contains(told, "slow: FAILED: is stopped") ||
         (contains(told, "the wait was abandoned") &&
          contains(told,
                   "slow: FAILED: vitrine run is stopping: the effect was "
                   "not awaited"))));
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
