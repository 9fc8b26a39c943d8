// launch(): settings applied in the child, errors reported in the parent.
#include "vitrine/os/launch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>
#include <thread>
#include <variant>

#include "test_support.hpp"
#include "vitrine/os/io_service.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine::os;
using namespace vitrine::os::test;

namespace {

launch_error launch_fails(const launch_options& o) {
  auto r = launch(o);
  REQUIRE(std::holds_alternative<launch_error>(r));
  return std::get<launch_error>(r);
}

termination run_to_exit(const launch_options& o) {
  exit_log log;  // outlives io, whose thread calls into it
  io_service io;
  auto child = launch_ok(o);
  pid_t pid = child.pid;
  io.watch_exit(child, log.recorder(pid));
  auto status = log.wait_for(pid);
  REQUIRE(status);
  return *status;
}

}  // namespace

TEST_CASE("launching /bin/true reports exit 0 through the io_service") {
  leak_guard guard;
  launch_options o;
  o.argv = {"/bin/true"};
  auto status = run_to_exit(o);
  CHECK(status.success());
  CHECK(describe(status) == "exit 0");
  guard.check();
}

TEST_CASE("a bare program name is looked up in PATH") {
  leak_guard guard;
  launch_options o;
  o.argv = {"true"};
  CHECK(run_to_exit(o).success());
  o.env = {{"PATH", "/nonexistent-dir"}};
  auto err = launch_fails(o);
  CHECK(err.code == ENOENT);
  CHECK_THAT(err.what, Catch::Contains("true"));
  guard.check();
}

TEST_CASE("exit codes and signals are recorded") {
  leak_guard guard;
  launch_options o;
  o.rlimits = {{RLIMIT_CORE, 0, 0}};
  o.argv = {helper(), "exit", "3"};
  auto s = run_to_exit(o);
  CHECK(s.how == termination::kind::exited);
  CHECK(s.value == 3);
  CHECK(describe(s) == "exit 3");

  o.argv = {helper(), "raise", std::to_string(SIGKILL)};
  s = run_to_exit(o);
  CHECK(s.how == termination::kind::signaled);
  CHECK(s.value == SIGKILL);
  CHECK(describe(s) == "signal 9 (SIGKILL)");

  o.argv = {helper(), "raise", std::to_string(SIGABRT)};
  s = run_to_exit(o);
  CHECK(s.how == termination::kind::signaled);
  CHECK(s.value == SIGABRT);
  CHECK_FALSE(s.core_dumped);  // RLIMIT_CORE 0 was applied
  guard.check();
}

SCENARIO("launch errors name the step and the program and leave nothing") {
  leak_guard guard;
  temp_dir dir;
  launch_options o;
  WHEN("the program does not exist") {
    o.argv = {"/nonexistent/program"};
    auto err = launch_fails(o);
    THEN("the error is ENOENT from exec, naming the program") {
      CHECK(err.code == ENOENT);
      CHECK(err.what == "exec /nonexistent/program: No such file or directory");
    }
  }
  WHEN("the program is a directory") {
    o.argv = {dir.path()};
    auto err = launch_fails(o);
    CHECK(err.code == EACCES);
    CHECK_THAT(err.what, Catch::StartsWith("exec " + dir.path()));
  }
  WHEN("the program is a file without execute permission") {
    std::ofstream(dir.file("script")) << "#!/bin/sh\nexit 0\n";
    ::chmod(dir.file("script").c_str(), 0644);
    o.argv = {dir.file("script")};
    auto err = launch_fails(o);
    CHECK(err.code == EACCES);
  }
  WHEN("a script's #! interpreter does not exist") {
    // execve() says ENOENT as for a missing program: name the interpreter.
    std::ofstream(dir.file("script")) << "#! /nonexistent/shell -e\nexit 0\n";
    ::chmod(dir.file("script").c_str(), 0755);
    o.argv = {dir.file("script")};
    auto err = launch_fails(o);
    CHECK(err.code == ENOENT);
    CHECK(err.what == "exec " + dir.file("script") +
                          ": its #! interpreter /nonexistent/shell: No such "
                          "file or directory");
  }
  WHEN("the working directory does not exist") {
    o.argv = {"/bin/true"};
    o.cwd = dir.file("missing");
    auto err = launch_fails(o);
    CHECK(err.code == ENOENT);
    CHECK_THAT(err.what, Catch::StartsWith("chdir to " + o.cwd));
  }
  WHEN("an rlimit is invalid") {
    o.argv = {"/bin/true"};
    o.rlimits = {{RLIMIT_NOFILE, 10, 5}};  // soft > hard
    auto err = launch_fails(o);
    CHECK(err.code == EINVAL);
    CHECK_THAT(err.what, Catch::StartsWith("setrlimit /bin/true"));
  }
  WHEN("stdin is to be captured") {
    o.argv = {"/bin/true"};
    o.stdin_target.mode = stdio_target::kind::capture;
    CHECK(launch_fails(o).code == EINVAL);
  }
  WHEN("the notify fd would replace a standard stream") {
    o.argv = {"/bin/true"};
    o.notify_fd = 1;
    CHECK(launch_fails(o).code == EINVAL);
  }
  WHEN("argv is empty") {
    CHECK(launch_fails(o).code == EINVAL);
  }
  WHEN("stdout is a FIFO nobody reads") {
    // Opened blocking, it held the launching thread until a reader came.
    o.argv = {"/bin/true"};
    o.stdout_target = {stdio_target::kind::append_file, dir.file("fifo")};
    REQUIRE(::mkfifo(o.stdout_target.path.c_str(), 0600) == 0);
    auto err = launch_fails(o);
    CHECK(err.code == ENXIO);
    // The file named, and why (an outside tester saw only the program's).
    CHECK(err.what == "open stdout for /bin/true: " + o.stdout_target.path +
                          ": No such device or address (a FIFO that no "
                          "process reads)");
  }
  // No zombie from the failed child, no fd from the prepared pipes/files.
  guard.check();
}

TEST_CASE("a FIFO as a file stream is opened without waiting for a peer") {
  leak_guard guard;
  temp_dir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Read from by the child, with no writer yet: it starts, reads end of
  // file, and exits.
  launch_options o;
  o.argv = {"/bin/cat"};
  o.stdin_target = {stdio_target::kind::append_file, fifo};
  CHECK(run_to_exit(o).success());
  // Written to, with a reader: the child gets a blocking descriptor.
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  o.argv = {"/bin/sh", "-c", "echo hello"};
  o.stdin_target = {};
  o.stdout_target = {stdio_target::kind::append_file, fifo};
  CHECK(run_to_exit(o).success());
  char text[16] = {};
  CHECK(::read(reader, text, sizeof text) == 6);
  CHECK(std::string_view{text} == "hello\n");
  ::close(reader);
  guard.check();
}

TEST_CASE("the environment is inherited and overridden, or replaced") {
  leak_guard guard;
  temp_dir dir;
  ::setenv("VITRINE_TEST_INHERITED", "from-parent", 1);
  launch_options o;
  o.argv = {helper(), "report", dir.file("a")};
  o.env = {{"VITRINE_TEST_ADDED", "x"}, {"VITRINE_TEST_INHERITED", "over"}};
  CHECK(run_to_exit(o).success());
  auto a = read_report(dir.file("a"));
  CHECK(a["env:VITRINE_TEST_ADDED"] == "x");
  CHECK(a["env:VITRINE_TEST_INHERITED"] == "over");
  CHECK(a.count("env:PATH") == 1);

  o.argv = {helper(), "report", dir.file("b")};
  o.inherit_env = false;
  o.env = {{"ONLY", "1"}};
  CHECK(run_to_exit(o).success());
  std::size_t env_entries = 0;
  for (const auto& [key, value] : read_report(dir.file("b"))) {
    env_entries += key.rfind("env:", 0) == 0;
  }
  CHECK(env_entries == 1);
  CHECK(read_report(dir.file("b"))["env:ONLY"] == "1");
  ::unsetenv("VITRINE_TEST_INHERITED");
  guard.check();
}

TEST_CASE("cwd, umask and rlimits are applied in the child") {
  leak_guard guard;
  temp_dir dir;
  launch_options o;
  o.argv = {helper(), "report", dir.file("r")};
  o.cwd = dir.path();
  o.umask = 027;
  o.rlimits = {{RLIMIT_NOFILE, 64, 128}};
  CHECK(run_to_exit(o).success());
  auto r = read_report(dir.file("r"));
  CHECK(r["cwd"] == dir.path());
  CHECK(r["umask"] == std::to_string(027));
  CHECK(r["nofile"] == "64/128");
  guard.check();
}

TEST_CASE("the child leads its own session and process group") {
  leak_guard guard;
  temp_dir dir;
  launch_options o;
  o.argv = {helper(), "report", dir.file("r")};
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  auto child = launch_ok(o);
  pid_t pid = child.pid;
  io.watch_exit(child, log.recorder(pid));
  REQUIRE(log.wait_for(pid));
  auto r = read_report(dir.file("r"));
  CHECK(r["pid"] == std::to_string(pid));
  CHECK(r["pgid"] == std::to_string(pid));
  CHECK(r["sid"] == std::to_string(pid));
  CHECK(r["ppid"] == std::to_string(::getpid()));
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

TEST_CASE(
    "the child sees only fds 0, 1, 2 and the notify fd, no signal "
    "blocked, every signal at its default (ignored ones too)") {
  leak_guard guard;
  temp_dir dir;
  // Host mistakes the child must not inherit.
  int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  REQUIRE(leaked >= 0);
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  auto old_int = ::signal(SIGINT, SIG_IGN);  // as a shell's background job
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);

  const launch_options o = reporting_child(dir);
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  auto child = launch_ok(o);
  CHECK(child.stdout_pipe);
  CHECK_FALSE(child.stderr_pipe);
  CHECK(child.notify_pipe);
  CHECK((::fcntl(child.stdout_pipe.get(), F_GETFL) & O_NONBLOCK) != 0);
  CHECK((::fcntl(child.pidfd.get(), F_GETFD) & FD_CLOEXEC) != 0);
  pid_t pid = child.pid;
  io.watch_exit(child, log.recorder(pid));
  REQUIRE(log.wait_for(pid));

  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::signal(SIGPIPE, old_pipe);
  ::signal(SIGINT, old_int);
  ::close(leaked);
  auto r = read_report(dir.file("r"));
  CHECK(r["fds"] == "0,1,2,7");
  CHECK(r["blocked"] == "0");
  CHECK(r["sigpipe"] == "dfl");
  CHECK(r["sigint"] == "dfl");
  child.stdout_pipe.reset();  // never handed to the io_service
  child.notify_pipe.reset();
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

SCENARIO("the death signal reaches an orphaned child") {
  leak_guard guard;
  temp_dir dir;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  GIVEN("an intermediate process that launches a sleeper and exits") {
    auto run_intermediate = [&](int death_signal) {
      launch_options o;
      o.argv = {helper(), "launch-sleeper", dir.file("pid"),
                std::to_string(death_signal)};
      auto child = launch_ok(o);
      pid_t pid = child.pid;
      io.watch_exit(child, log.recorder(pid));
      auto s = log.wait_for(pid);
      REQUIRE(s);
      REQUIRE(s->success());
      auto text = read_file_when_present(dir.file("pid"));
      REQUIRE(text);
      return static_cast<pid_t>(std::stoi(*text));
    };
    WHEN("the death signal is SIGKILL") {
      pid_t sleeper = run_intermediate(SIGKILL);
      THEN("the sleeper dies") {
        CHECK(wait_until([&] { return !is_alive(sleeper); }));
      }
    }
    WHEN("the death signal is 0") {
      pid_t sleeper = run_intermediate(0);
      THEN("the sleeper lives on (until we kill it)") {
        CHECK(is_alive(sleeper));
        ::kill(sleeper, SIGKILL);
        CHECK(wait_until([&] { return !is_alive(sleeper); }));
      }
    }
  }
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

TEST_CASE("the death signal fires when the launching thread exits") {
  // The pitfall documented in launch.hpp, shown.
  leak_guard guard;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  pid_t pid = 0;
  std::thread([&] {
    launch_options o;
    o.argv = {helper(), "sleep", "60000"};
    auto child = launch_ok(o);
    pid = child.pid;
    io.watch_exit(child, log.recorder(pid));
  }).join();
  auto s = log.wait_for(pid);
  REQUIRE(s);
  CHECK(describe(*s) == "signal 9 (SIGKILL)");
  io.stop();  // closes its epoll and eventfd
  guard.check();
}

TEST_CASE("launch works from several threads at once") {
  leak_guard guard;
  exit_log log;
  io_service io;  // declared last: its thread uses the above
  constexpr int threads = 4, per_thread = 25;
  CHECK(launch_from_threads(io, log, threads, per_thread,
                            {helper(), "exit", "5"}) == 0);
  REQUIRE(log.wait_for_total(threads * per_thread));
  CHECK(wait_until([&] { return io.active_watches() == 0; }));
  io.stop();  // closes its epoll and eventfd
  guard.check();
}
