#include "live_run.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <thread>

namespace vitrine::test {

using clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> run_command(const std::string& state,
                                     const std::vector<std::string>& extra,
                                     const std::string& config) {
  std::vector<std::string> args{"run", "--plain", "--state-dir", state};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(config);
  return args;
}

}  // namespace

live_run::live_run(const std::string& toml, const std::string& shell_prefix,
                   const std::vector<std::string>& run_args)
    : config_(dir_.write("run.toml", toml)),
      state_(dir_.file("state")),
      log_(dir_.file("run.log")),
      process_(std::make_unique<cli_process>(
          run_command(state_, run_args, config_), log_, shell_prefix)) {}

void live_run::rewrite(const std::string& toml) const {
  std::ofstream{config_, std::ios::trunc} << toml;
}

void live_run::append_program(const std::string& name) const {
  std::ofstream{config_, std::ios::app}
      << "\n[[program]]\nname = \"" << name
      << "\"\ncommand = [\"sleep\", \"1000\"]\nstartsecs_ms = 0\n";
}

cli_result live_run::cli(std::vector<std::string> args) const {
  args.push_back("--state-dir");
  args.push_back(state_);
  return run_cli(args);
}

status_slot live_run::wait_slot(
    const std::string& name,
    const std::function<bool(const status_slot&)>& pred,
    std::chrono::milliseconds limit) const {
  const auto deadline = clock::now() + limit;
  status_slot slot{};
  for (;;) {
    try {
      status_reader reader{state_ + "/status"};
      if (reader.find(name, slot) == status_error::none && pred(slot))
        return slot;
    } catch (const std::exception&) {
      // not created yet
    }
    if (clock::now() >= deadline) {
      INFO("slot " << name << " never matched; run log:\n" << read_file(log_));
      FAIL("timed out");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

status_slot live_run::wait_status(const std::string& name,
                                  const std::string& status,
                                  std::chrono::milliseconds limit) const {
  return wait_slot(
      name, [&](const status_slot& s) { return status_name(s) == status; },
      limit);
}

std::unique_ptr<live_run> run_still_adding(int startsecs_ms) {
  auto run = std::make_unique<live_run>(
      "[[program]]\nname = \"slow\"\ncommand = [\"sleep\", \"1000\"]\n"
      "startsecs_ms = " +
      std::to_string(startsecs_ms) + "\n");
  run->wait_status("slow", "starting");
  run->append_program("added");
  return run;
}

const std::string demo_config = R"(
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

}  // namespace vitrine::test
