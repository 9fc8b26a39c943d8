// Operating a running `vitrine run` from another process, as a user does
// (issue 12, item 9): whole commands, fork + exec + exit included, against
// one `vitrine run` supervising 1,000 programs (autostart = false, one of
// them started). Each iteration spawns the command and waits for its exit.
//
// cli/exec_floor        /bin/true: what any command costs to spawn and reap
// cli/status_all        `vitrine status`: every row, read from the table
// cli/status_one        `vitrine status p500`
// cli/ctl_round_trip    `vitrine ctl signal CONT p500`: a request over the
//                       control socket, executed by the process's actor,
//                       answered when done
// Goal: `vitrine status` as a whole command <= 2 ms.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "vitrine/status_reader.hpp"

extern char** environ;

namespace {

constexpr int program_count = 1000;
std::string state_dir;

/// Spawns argv with stdout/stderr to /dev/null; returns its exit status
/// (-1 if it could not be spawned or did not exit normally).
int run_quietly(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc =
      ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

void run_command(benchmark::State& state,
                 const std::vector<std::string>& argv) {
  for (auto _ : state)
    if (const int rc = run_quietly(argv); rc != 0) {
      state.SkipWithError(("exit status " + std::to_string(rc)).c_str());
      break;
    }
}

std::vector<std::string> vitrine(std::vector<std::string> args) {
  args.insert(args.begin(), VITRINE_CLI_PATH);
  args.push_back("--state-dir");
  args.push_back(state_dir);
  return args;
}

void BM_exec_floor(benchmark::State& state) {
  run_command(state, {"/bin/true"});
}
BENCHMARK(BM_exec_floor)->Name("cli/exec_floor")->Unit(benchmark::kMicrosecond);

void BM_status_all(benchmark::State& state) {
  run_command(state, vitrine({"status"}));
  state.counters["programs"] = program_count;
}
BENCHMARK(BM_status_all)->Name("cli/status_all")->Unit(benchmark::kMicrosecond);

void BM_status_one(benchmark::State& state) {
  run_command(state, vitrine({"status", "p500"}));
}
BENCHMARK(BM_status_one)->Name("cli/status_one")->Unit(benchmark::kMicrosecond);

void BM_ctl_round_trip(benchmark::State& state) {
  run_command(state, vitrine({"ctl", "signal", "CONT", "p500"}));
}
BENCHMARK(BM_ctl_round_trip)
    ->Name("cli/ctl_round_trip")
    ->Unit(benchmark::kMicrosecond);

/// Starts `vitrine run` on a generated config; returns its pid once its
/// status table lists every program and p500 runs.
pid_t start_run(const std::string& dir) {
  const std::string config = dir + "/fleet.toml";
  {
    std::ofstream out{config};
    for (int i = 0; i < program_count; ++i)
      out << "[[program]]\nname = \"p" << i
          << "\"\ncommand = [\"sleep\", \"1000\"]\nautostart = false\n";
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::execl(VITRINE_CLI_PATH, VITRINE_CLI_PATH, "run", config.c_str(),
            "--plain", "--state-dir", state_dir.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    try {
      vitrine::status_reader reader{state_dir + "/status"};
      std::vector<vitrine::status_slot> slots;
      if (reader.read_all(slots) == vitrine::status_error::none &&
          slots.size() >= program_count)
        break;
    } catch (const std::exception&) {
    }
  }
  if (run_quietly(vitrine({"ctl", "start", "p500"})) != 0) {
    std::fprintf(stderr, "cli_bench: `vitrine ctl start p500` failed\n");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::exit(1);
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  // Arguments first: --help (or a bad flag) exits inside Initialize, which
  // must not leave the run below without its parent.
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  char dir[] = "/tmp/vitrine-cli-bench-XXXXXX";
  if (!::mkdtemp(dir)) return 1;
  state_dir = std::string{dir} + "/state";
  const pid_t run = start_run(dir);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  ::kill(run, SIGTERM);
  int status = 0;
  ::waitpid(run, &status, 0);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
