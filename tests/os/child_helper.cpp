// A scriptable child for the OS tests. Runs its arguments as a list of
// actions, left to right:
//   exit N                 _exit(N)
//   raise SIG              kill itself with signal number SIG
//   ignore-term            SIGTERM -> SIG_IGN
//   sleep MS               sleep MS milliseconds
//   grandchild FILE        fork a child that sleeps 60 s; write its pid to FILE
//   notify FD              write "\n" to FD
//   print TEXT             write TEXT and "\n" to stdout
//   flood BYTES            write BYTES bytes of 63 x's + '\n' lines to stdout
//   report FILE            write key=value facts about itself to FILE
//   launch-sleeper FILE DS use vitrine::os::launch to start "sleep 60000"
//                          with death_signal DS, write its pid to FILE
//   guarded-launch FILE    start an os::guardian, launch this helper with
//                          it ("grandchild FILE.grandchild", then sleep)
//                          but never call watch_group; write the child's
//                          pid to FILE, then sleep 60 s (to be killed)
//   reused-group-check     a guardian continued after a guarded group's id
//                          was reused spares the new holder (exit codes:
//                          reused_group_check)
//   subreaper-check        become subreaper, orphan a grandchild, reap it
//   orphan-reaper-check    become subreaper with an os::orphan_reaper; orphan
//                          20 grandchildren while an owned child runs; exit 0
//                          if the reaper took every orphan and left the owned
//                          child's status to its owner
// With no action left, it exits 0.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <variant>

#include "vitrine/os/guardian.hpp"
#include "vitrine/os/launch.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/os/reaper.hpp"
#include "vitrine/os/subreaper.hpp"

extern char** environ;

namespace {

void write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::_Exit(90);
    }
    done += static_cast<std::size_t>(n);
  }
}

void sleep_ms(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void write_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    if (!out) std::_Exit(91);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) std::_Exit(92);
}

std::string report() {
  std::string r;
  r += "pid=" + std::to_string(::getpid()) + "\n";
  r += "pgid=" + std::to_string(::getpgid(0)) + "\n";
  r += "sid=" + std::to_string(::getsid(0)) + "\n";
  r += "ppid=" + std::to_string(::getppid()) + "\n";
  mode_t m = ::umask(0);
  ::umask(m);
  r += "umask=" + std::to_string(m) + "\n";
  char cwd[4096];
  r += std::string("cwd=") + (::getcwd(cwd, sizeof cwd) ? cwd : "?") + "\n";
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  r += "nofile=" + std::to_string(lim.rlim_cur) + "/" +
       std::to_string(lim.rlim_max) + "\n";
  std::string fds;
  for (int fd : vitrine::os::open_fds()) {
    if (!fds.empty()) fds += ',';
    fds += std::to_string(fd);
  }
  r += "fds=" + fds + "\n";
  sigset_t mask;
  sigprocmask(SIG_SETMASK, nullptr, &mask);
  int blocked = 0;
  for (int s = 1; s < NSIG; ++s) blocked += sigismember(&mask, s) == 1;
  r += "blocked=" + std::to_string(blocked) + "\n";
  struct sigaction sa {};
  sigaction(SIGPIPE, nullptr, &sa);
  r += std::string("sigpipe=") + (sa.sa_handler == SIG_IGN ? "ign" : "dfl") +
       "\n";
  sigaction(SIGINT, nullptr, &sa);
  r += std::string("sigint=") + (sa.sa_handler == SIG_IGN ? "ign" : "dfl") +
       "\n";
  for (char** e = environ; *e != nullptr; ++e)
    r += std::string("env:") + *e + "\n";
  return r;
}

int subreaper_check() {
  if (!vitrine::os::become_subreaper()) return 10;
  pid_t middle = ::fork();
  if (middle < 0) return 11;
  if (middle == 0) {
    const pid_t me = ::getpid();
    pid_t grandchild = ::fork();
    if (grandchild == 0) {
      // Wait until orphaned (re-parented to the subreaper), then exit.
      while (::getppid() == me) sleep_ms(1);
      ::_exit(0);
    }
    ::_exit(grandchild > 0 ? 0 : 1);
  }
  int status = 0;
  if (::waitpid(middle, &status, 0) != middle || status != 0) return 12;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::size_t reaped = 0;
  while (reaped == 0 && std::chrono::steady_clock::now() < deadline) {
    reaped += vitrine::os::reap_orphans([](pid_t) { return true; });
    if (reaped == 0) sleep_ms(1);
  }
  if (reaped != 1) return 13;
  return vitrine::os::children_of(::getpid()).empty() ? 0 : 14;
}

int orphan_reaper_check() {
  using namespace vitrine::os;
  if (!become_subreaper()) return 20;
  orphan_reaper reaper;
  launch_options owned_options;
  owned_options.argv = {"/bin/sh", "-c", "sleep 0.3; exit 5"};
  auto started = launch(owned_options);
  auto* owned = std::get_if<launched_child>(&started);
  if (owned == nullptr) return 21;
  for (int i = 0; i < 20; ++i) {
    launch_options o;
    o.argv = {"/bin/sh", "-c", "sleep 0.05 & exit 0"};
    auto r = launch(o);
    auto* c = std::get_if<launched_child>(&r);
    if (c == nullptr) return 22;
    reap_child_blocking(c->pid, c->pidfd.get());
  }
  pollfd p{owned->pidfd.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, 10'000);  // SIGCHLD interrupts poll (EINTR)
  } while (ready < 0 && errno == EINTR);
  if (ready != 1) return 23;
  auto status = reap_child(owned->pid, owned->pidfd.get());
  if (!status || *status != vitrine::core::termination{
                                vitrine::core::termination::kind::exited, 5})
    return 24;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!children_of(::getpid()).empty() ||
         orphan_reaper::reaped_total() < 20) {
    if (std::chrono::steady_clock::now() > deadline) return 25;
    sleep_ms(1);
  }
  return 0;
}

/// Waits (at most `patience`) for child `pid` to end; true with its status.
bool wait_child(pid_t pid, int& status,
                std::chrono::milliseconds patience = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) return true;
    if (got < 0 && errno != EINTR) return false;
    sleep_ms(1);
  }
  return false;
}

/// Forks a child that takes pid `wanted` (through ns_last_pid) and makes
/// it a group id: returns its pid, -1 if the id went elsewhere each time,
/// -2 if ns_last_pid cannot be written here.
pid_t take_over_id(pid_t wanted) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    {
      std::ofstream last("/proc/sys/kernel/ns_last_pid");
      last << wanted - 1;
      last.flush();
      if (!last) return -2;
    }
    const pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      if (::getpid() != wanted) ::_exit(0);
      ::setpgid(0, 0);
      ::pause();
      ::_exit(0);
    }
    if (pid == wanted) {
      ::setpgid(pid, pid);  // a group id before we return (the child too)
      return pid;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  return -1;
}

/// A guardian stopped when its host dies and continued after the id of a
/// guarded group was taken over must spare the new holder, and still kill
/// its own groups. Exits 0 if both held; 1 if it killed the new holder; 2
/// if a guarded program outlived it; 77 if the id reuse could not be
/// forced here; others: setup failures.
int reused_group_check() {
  using namespace vitrine::os;
  if (!become_subreaper()) return 30;
  int facts[2];
  if (::pipe(facts) != 0) return 31;
  const pid_t host = ::fork();
  if (host < 0) return 32;
  if (host == 0) {
    ::close(facts[0]);
    guardian guard;
    launch_options dies_with_host;  // PR_SET_PDEATHSIG: killed with us
    dies_with_host.argv = {"sleep", "60000"};
    launch_options outlives_host = dies_with_host;
    outlives_host.death_signal = 0;
    auto first = launch(dies_with_host, &guard);
    auto second = launch(outlives_host, &guard);
    auto* reused = std::get_if<launched_child>(&first);
    auto* kept = std::get_if<launched_child>(&second);
    if (reused == nullptr || kept == nullptr) ::_exit(33);
    write_all(facts[1], std::to_string(guard.pid()) + " " +
                            std::to_string(reused->pid) + " " +
                            std::to_string(kept->pid) + "\n");
    ::pause();
    ::_exit(34);
  }
  ::close(facts[1]);
  std::string text;
  char c;
  while (::read(facts[0], &c, 1) == 1 && c != '\n') text += c;
  ::close(facts[0]);
  pid_t guard = 0, first = 0, second = 0;
  if (std::sscanf(text.c_str(), "%d %d %d", &guard, &first, &second) != 3)
    return 35;
  // The guardian stops; the host dies; its first program dies with it
  // (death signal) and, orphaned to us, is reaped: its id is free.
  if (::kill(guard, SIGSTOP) != 0) return 36;
  int status = 0;
  ::kill(host, SIGKILL);
  if (!wait_child(host, status)) return 37;
  if (!wait_child(first, status)) return 38;
  sleep_ms(30);  // past the clock tick (10 ms) of the latest mark
  const pid_t holder = take_over_id(first);
  int result = holder < 0 ? 77 : 0;
  ::kill(guard, SIGCONT);
  if (!wait_child(guard, status)) return 39;
  if (holder > 0) {
    // A SIGKILL the guardian sent takes effect soon, not at once.
    if (wait_child(holder, status, std::chrono::milliseconds(500))) {
      result = 1;
    } else {
      ::kill(holder, SIGKILL);
      ::waitpid(holder, &status, 0);
    }
  }
  if (!wait_child(second, status)) {
    ::kill(second, SIGKILL);
    ::waitpid(second, &status, 0);
    if (result == 0) result = 2;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string action = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) std::_Exit(99);
      return argv[++i];
    };
    if (action == "exit") {
      ::_exit(std::atoi(next().c_str()));
    } else if (action == "raise") {
      int sig = std::atoi(next().c_str());
      signal(sig, SIG_DFL);
      ::kill(::getpid(), sig);
      sleep_ms(10000);
      ::_exit(98);
    } else if (action == "ignore-term") {
      signal(SIGTERM, SIG_IGN);
    } else if (action == "sleep") {
      sleep_ms(std::atol(next().c_str()));
    } else if (action == "grandchild") {
      std::string file = next();
      pid_t pid = ::fork();
      if (pid == 0) {
        sleep_ms(60000);
        ::_exit(0);
      }
      write_file(file, std::to_string(pid));
    } else if (action == "notify") {
      write_all(std::atoi(next().c_str()), "\n");
    } else if (action == "print") {
      write_all(1, next() + "\n");
    } else if (action == "flood") {
      long bytes = std::atol(next().c_str());
      std::string line(63, 'x');
      line += '\n';
      std::string out;
      while (static_cast<long>(out.size()) + 64 <= bytes) out += line;
      out.append(static_cast<std::size_t>(bytes) - out.size(), 'y');
      write_all(1, out);
    } else if (action == "report") {
      write_file(next(), report());
    } else if (action == "launch-sleeper") {
      std::string file = next();
      vitrine::os::launch_options o;
      o.argv = {argv[0], "sleep", "60000"};
      o.death_signal = std::atoi(next().c_str());
      auto r = vitrine::os::launch(o);
      auto* child = std::get_if<vitrine::os::launched_child>(&r);
      if (child == nullptr) return 20;
      write_file(file, std::to_string(child->pid));
      ::_exit(0);  // the sleeper is orphaned now
    } else if (action == "guarded-launch") {
      std::string file = next();
      vitrine::os::guardian guard;
      vitrine::os::launch_options o;
      o.argv = {argv[0], "grandchild", file + ".grandchild", "sleep", "60000"};
      auto r = vitrine::os::launch(o, &guard);
      auto* child = std::get_if<vitrine::os::launched_child>(&r);
      if (child == nullptr) return 20;
      write_file(file, std::to_string(child->pid));
      sleep_ms(60000);
      return 21;  // not killed: the test failed to
    } else if (action == "reused-group-check") {
      return reused_group_check();
    } else if (action == "orphan-reaper-check") {
      return orphan_reaper_check();
    } else if (action == "subreaper-check") {
      return subreaper_check();
    } else {
      std::fprintf(stderr, "child_helper: unknown action %s\n", action.c_str());
      return 97;
    }
  }
  return 0;
}
