#include "cli_driver.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "vitrine/os/process_scan.hpp"

extern char** environ;

namespace vitrine::test {

namespace {

/// Points XDG_RUNTIME_DIR at a directory of this test process, once: every
/// `vitrine run` without --state-dir then claims its default state
/// directory there, so test binaries running at once never share one.
void use_private_runtime_dir() {
  static const temp_dir runtime_dir;
  static const bool set =
      ::setenv("XDG_RUNTIME_DIR", runtime_dir.path().c_str(), 1) == 0;
  (void)set;
}

}  // namespace

cli_process::cli_process(const std::vector<std::string>& args,
                         const std::string& output_path,
                         const std::string& shell_prefix) {
  use_private_runtime_dir();
  std::vector<std::string> all{VITRINE_CLI_PATH};
  if (!shell_prefix.empty())
    all = {"/bin/sh", "-c", shell_prefix + " && exec \"$0\" \"$@\"",
           VITRINE_CLI_PATH};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  // Default dispositions and an empty mask, so the checks on what vitrine
  // gives its children do not depend on how the test runner was started.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all_signals, none;
  sigfillset(&all_signals);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all_signals);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const int rc =
      ::posix_spawn(&pid_, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn of vitrine failed");
}

cli_process::~cli_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::optional<int> cli_process::wait(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return -WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

cli_result run_cli(const std::vector<std::string>& args,
                   const std::string& shell_prefix) {
  temp_dir dir;
  const std::string output = dir.path() + "/output";
  cli_process process{args, output, shell_prefix};
  cli_result result;
  result.code = process.wait(std::chrono::seconds{30}).value_or(-1000);
  result.output = read_file(output);
  return result;
}

bool process_gone(pid_t pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

namespace {

/// Field 22 of /proc/PID/stat (clock ticks after boot); 0 when gone.
unsigned long long start_time(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat;
  std::getline(in, stat);
  const auto name_end = stat.rfind(')');  // the name may hold spaces
  if (name_end == std::string::npos) return 0;
  std::istringstream fields{stat.substr(name_end + 1)};
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::stoull(field);
  return 0;
}

}  // namespace

std::vector<seen_process> seen_now(const std::vector<pid_t>& pids) {
  std::vector<seen_process> seen;
  seen.reserve(pids.size());
  for (const pid_t pid : pids) seen.push_back({pid, start_time(pid)});
  return seen;
}

bool process_left(const seen_process& p) {
  return process_gone(p.pid) || start_time(p.pid) != p.started;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size()))
    ++n;
  return n;
}

std::vector<int> numbers_after(const std::string& text,
                               const std::string& prefix) {
  std::vector<int> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix))
      out.push_back(std::stoi(line.substr(prefix.size())));
  return out;
}

bool consecutive(const std::vector<int>& numbers) {
  for (std::size_t i = 1; i < numbers.size(); ++i)
    if (numbers[i] != numbers[i - 1] + 1) return false;
  return !numbers.empty();
}

bool wait_for_text(const std::string& path, const std::string& needle,
                   std::chrono::milliseconds limit, pid_t alive,
                   std::size_t times) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (count_of(read_file(path), needle) >= times) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (alive > 0) {
      siginfo_t info{};
      // WNOWAIT: see whether it exited without reaping it.
      if (::waitid(P_PID, static_cast<id_t>(alive), &info,
                   WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == alive)
        return count_of(read_file(path), needle) >= times;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
}

std::vector<pid_t> descendants_of(pid_t pid) {
  std::multimap<pid_t, pid_t> children;  // ppid -> pid
  for (const auto& entry : std::filesystem::directory_iterator{"/proc"}) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (auto e = os::read_proc_entry(static_cast<pid_t>(std::stol(name))))
      children.emplace(e->ppid, e->pid);
  }
  std::vector<pid_t> found;
  std::vector<pid_t> pending{pid};
  while (!pending.empty()) {
    const pid_t parent = pending.back();
    pending.pop_back();
    auto [first, last] = children.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      found.push_back(it->second);
      pending.push_back(it->second);
    }
  }
  return found;
}

std::vector<pid_t> descendants_named(pid_t pid, const std::string& name) {
  std::vector<pid_t> found;
  for (const pid_t d : descendants_of(pid))
    if (proc_status_field(d, "Name") == name) found.push_back(d);
  return found;
}

std::string proc_status_field(pid_t pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field + ":")) {
      const auto value = line.find_first_not_of(" \t", field.size() + 1);
      return value == std::string::npos ? "" : line.substr(value);
    }
  }
  return "";
}

std::pair<std::string, std::string> proc_limit(pid_t pid,
                                               const std::string& name) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/limits"};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(name)) continue;
    std::istringstream fields{line.substr(name.size())};
    std::string soft, hard;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {};
}

std::string sleep_programs(std::size_t count, const std::string& extra) {
  std::string text;
  text.reserve(count * (80 + extra.size()));
  for (std::size_t i = 0; i < count; ++i)
    text += "[[program]]\nname = \"p" + std::to_string(i) +
            "\"\ncommand = [\"sleep\", \"1000\"]\n" + extra;
  return text;
}

unsigned stress_scale() {
  const char* text = std::getenv("VITRINE_STRESS_SCALE");
  if (text == nullptr) return 1;
  const long value = std::strtol(text, nullptr, 10);
  return value > 0 ? static_cast<unsigned>(value) : 1;
}

}  // namespace vitrine::test
