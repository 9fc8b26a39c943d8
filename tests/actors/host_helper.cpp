// host_helper: a host application for the no-leftovers tests. It embeds a
// vitrine::runtime, supervises N programs, prints "pid <pid>" for each once
// it runs, then "ready", and waits for a signal (the test SIGKILLs it).
// Everything its programs started must die with it.
//
// Usage: host_helper [count] [kind] [token] [flags...]
//   kind (default sleep):
//     sleep       `sleep 1000`
//     shell       /bin/sh -c "sleep 1000.<token>; true"
//     daemon      a shell that starts `setsid sleep 1000.<token>` (leaves the
//                 group and the session) and then sleeps itself
//     doublefork  a shell whose subshell starts a setsid sleep and exits, so
//                 the sleep is re-parented (to us with subreaper, else init)
//     deepdaemon  as doublefork, but the orphan is a setsid shell with two
//                 sleeps of its own
//     zombies     a daemonizer restarting every few ms (sh -c "sleep
//                 1000.<token> & exit 0"); after `count` restarts it prints
//                 "zombies <n>" (zombie children seen after the reaper had
//                 time to run), shuts down and prints "left <children>"
//   flags: subreaper (runtime_options::subreaper), setpgrp (lead our own
//          process group, so the test can kill the whole group), late (on
//          each SIGUSR1 after "ready", start one more program of `kind`,
//          print its "pid <pid>", then "late"), serve (serve the programs
//          on a loopback port), destroy_elsewhere (after "ready", destroy
//          the runtime on another thread, print "destroyed" and exit 0),
//          shutdown_here (with destroy_elsewhere: shutdown() on the main
//          thread first), linger (with destroy_elsewhere: destroy only
//          on SIGUSR1, and after "destroyed" wait to be killed instead of
//          exiting)
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "vitrine/os/process_scan.hpp"
#include "vitrine/os/reaper.hpp"
#include "vitrine/runtime.hpp"

namespace {

using namespace std::chrono_literals;

std::vector<std::string> command_for(const std::string& kind,
                                     const std::string& token) {
  const std::string sleep = "sleep 1000." + token;
  if (kind == "shell") return {"/bin/sh", "-c", sleep + "; true"};
  if (kind == "daemon")
    return {"/bin/sh", "-c", "setsid " + sleep + " & " + sleep};
  if (kind == "doublefork")
    return {"/bin/sh", "-c", "(setsid " + sleep + " &); " + sleep};
  if (kind == "deepdaemon")
    return {"/bin/sh", "-c",
            "(setsid /bin/sh -c '" + sleep + " & " + sleep + "; true' &); " +
                sleep + "; true"};
  if (kind == "zombies") return {"/bin/sh", "-c", sleep + " & exit 0"};
  return {"sleep", "1000"};
}

std::size_t zombie_children() {
  std::size_t n = 0;
  for (const auto& c : vitrine::os::children_of(::getpid()))
    if (vitrine::os::is_zombie(c)) ++n;
  return n;
}

int run_zombies(vitrine::runtime& rt, const std::string& token, int restarts) {
  vitrine::process_spec spec;
  spec.name = "daemonizer";
  spec.launch.argv = command_for("zombies", token);
  spec.startsecs = 0ms;
  spec.backoff.min = 1ms;
  spec.backoff.max = 1ms;
  spec.backoff.multiplier = 1.0;
  spec.backoff.jitter = 0.0;
  spec.restart_limit.interval = 0ms;  // it restarts on purpose, forever
  auto h = rt.supervise(spec);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (h.read()->restart_count < static_cast<unsigned>(restarts)) {
    if (std::chrono::steady_clock::now() > deadline) return 2;
    std::this_thread::sleep_for(5ms);
  }
  // Steady state: stop the churn, give the reaper its SIGCHLDs, count.
  h.stop();
  std::size_t zombies = 0;
  for (int i = 0; i < 200; ++i) {
    zombies = zombie_children();
    if (zombies == 0) break;
    std::this_thread::sleep_for(10ms);
  }
  std::printf("restarts %u\nzombies %zu\nreaped %zu\n", h.read()->restart_count,
              zombies, vitrine::os::orphan_reaper::reaped_total());
  rt.shutdown();
  std::printf("left %zu\n", vitrine::os::children_of(::getpid()).size());
  std::fflush(stdout);
  return 0;
}

/// Supervises one more program; prints "pid <pid>" once it runs.
bool start_program(vitrine::runtime& rt, const std::string& kind,
                   const std::string& token, const std::string& name) {
  vitrine::process_spec spec;
  spec.name = name;
  spec.launch.argv = command_for(kind, token);
  spec.startsecs = std::chrono::milliseconds{0};
  auto h = rt.supervise(spec);
  if (!h.wait_for_status(vitrine::core::process_status::running,
                         std::chrono::steady_clock::now() + 30s)) {
    std::fprintf(stderr, "host_helper: %s did not start\n", name.c_str());
    return false;
  }
  std::printf("pid %d\n", static_cast<int>(h.read()->pid));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 3;
  const std::string kind = argc > 2 ? argv[2] : "sleep";
  const std::string token = argc > 3 ? argv[3] : "0";
  vitrine::runtime_options options;
  options.root_intensity = 1'000'000;  // programs that restart on purpose
  bool late = false, serve = false, destroy_elsewhere = false,
       shutdown_here = false, linger = false;
  for (int i = 4; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "subreaper") options.subreaper = true;
    if (flag == "setpgrp") ::setpgid(0, 0);
    late = late || flag == "late";
    serve = serve || flag == "serve";
    destroy_elsewhere = destroy_elsewhere || flag == "destroy_elsewhere";
    shutdown_here = shutdown_here || flag == "shutdown_here";
    linger = linger || flag == "linger";
  }
  options.remoting.enabled = serve;
  // Blocked before the runtime's threads exist (they inherit the mask), so
  // only sigwait below takes SIGUSR1.
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  if (late || linger) pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
  auto owned = std::make_unique<vitrine::runtime>(options);
  auto& rt = *owned;
  if (kind == "zombies") return run_zombies(rt, token, count);
  for (int i = 0; i < count; ++i)
    if (!start_program(rt, kind, token, "orphan-" + std::to_string(i)))
      return 1;
  if (serve) rt.serve(vitrine::serve_options{});
  std::printf("ready\n");
  std::fflush(stdout);
  if (destroy_elsewhere) {
    int sig = 0;
    while (linger && sigwait(&usr1, &sig) != 0) {
    }
    // The main thread made the runtime (and used it): another one ends it.
    if (shutdown_here) rt.shutdown();
    std::thread{[&] { owned.reset(); }}.join();
    std::printf("destroyed\n");
    std::fflush(stdout);
    while (linger) ::pause();
    return 0;
  }
  for (int extra = 0; late; ++extra) {
    int sig = 0;
    if (sigwait(&usr1, &sig) != 0) continue;
    if (!start_program(rt, kind, token, "late-" + std::to_string(extra)))
      return 1;
    std::printf("late\n");
    std::fflush(stdout);
  }
  for (;;) ::pause();
}
