// The nodes the fleet and frozen-node rows spawn (remote_nodes.hpp): this
// binary started again with "--remote-node N HEARTBEAT_MS TIMEOUT_MS", and
// what such a node runs.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "remote_nodes.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::bench {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using vitrine::core::process_status;

constexpr std::string_view node_flag = "--remote-node";
/// Every node spawn_node() started, until stopped.
std::vector<spawned_node> spawned;

/// Reads the node's one line (its port; 0 if its processes did not all
/// start) within `timeout`.
std::uint16_t read_port(int fd, std::chrono::seconds timeout) {
  std::string line;
  const auto deadline = clock_type::now() + timeout;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return 0;
    char buf[32];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return 0;
    line.append(buf, static_cast<std::size_t>(n));
  }
  return static_cast<std::uint16_t>(std::strtoul(line.c_str(), nullptr, 10));
}

/// Closes the node's stdin and reaps it; SIGKILLs its group after 60 s
/// (its children die with it: launch.death_signal).
void stop(spawned_node& node) {
  if (node.pid <= 0) return;
  ::kill(node.pid, SIGCONT);  // in case a frozen-node cycle was cut short
  ::close(node.stdin_fd);
  const auto deadline = clock_type::now() + 60s;
  int status = 0;
  while (::waitpid(node.pid, &status, WNOHANG) == 0) {
    if (clock_type::now() > deadline) {
      ::kill(-node.pid, SIGKILL);
      ::waitpid(node.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  node.pid = -1;
}

}  // namespace

std::optional<spawned_node> spawn_node(unsigned processes,
                                       std::chrono::milliseconds heartbeat,
                                       std::chrono::milliseconds timeout) {
  char exe[4096];
  const ssize_t len = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) return std::nullopt;
  exe[len] = '\0';
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return std::nullopt;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return std::nullopt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::string n = std::to_string(processes);
  std::string hb = std::to_string(heartbeat.count());
  std::string to = std::to_string(timeout.count());
  std::string flag{node_flag};
  char* argv[] = {exe, flag.data(), n.data(), hb.data(), to.data(), nullptr};
  spawned_node node;
  const int rc = ::posix_spawn(&node.pid, exe, &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    return std::nullopt;
  }
  node.stdin_fd = in[1];
  node.port = read_port(out[0], 300s);
  ::close(out[0]);
  spawned.push_back(node);
  if (node.port == 0) return std::nullopt;  // stopped with the others
  return node;
}

void stop_node(const spawned_node& node) {
  for (auto& n : spawned)
    if (n.pid == node.pid) stop(n);
}

vitrine::runtime_options remote_options(std::chrono::milliseconds heartbeat,
                                        std::chrono::milliseconds timeout) {
  vitrine::runtime_options o;
  o.remoting.enabled = true;
  o.remoting.heartbeat_interval = heartbeat;
  o.remoting.connection_timeout = timeout;
  return o;
}

bool is_remote_node(int argc, char** argv) {
  return argc == 5 && std::string_view{argv[1]} == node_flag;
}

int run_remote_node(int, char** argv) {
  // A frozen (SIGSTOPped) node never sees its stdin close: die with the
  // benchmark instead (its programs die with it: launch.death_signal).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  const unsigned n = static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10));
  const std::chrono::milliseconds heartbeat{std::strtol(argv[3], nullptr, 10)};
  const std::chrono::milliseconds timeout{std::strtol(argv[4], nullptr, 10)};
  vitrine::runtime rt{remote_options(heartbeat, timeout)};
  std::vector<vitrine::process_handle> handles;
  for (unsigned i = 0; i < n; ++i) {
    vitrine::process_spec spec;
    spec.name = std::to_string(i);
    spec.name.insert(0, 1, 'p');  // see remote_bench.cpp (GCC bug 105329)
    spec.launch.argv = {"sleep", "100000"};
    spec.startsecs = 0ms;
    handles.push_back(rt.supervise(spec));
  }
  const auto deadline = clock_type::now() + 240s;
  bool all = true;
  for (const auto& h : handles)
    all = all && h.wait_for_status(process_status::running, deadline);
  const std::uint16_t port = all ? rt.serve({}) : 0;
  std::printf("%u\n", static_cast<unsigned>(port));
  std::fflush(stdout);
  char byte;
  while (::read(0, &byte, 1) > 0) {
  }  // until the benchmark closes our stdin (or dies)
  rt.shutdown();
  return all ? 0 : 1;
}

void stop_spawned_nodes() {
  for (auto& n : spawned) stop(n);
  spawned.clear();
}

}  // namespace vitrine::bench
