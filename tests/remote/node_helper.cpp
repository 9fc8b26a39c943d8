// node_helper: a vitrine node for the remote tests. It embeds a runtime
// with remoting on, supervises `count` programs p0..p<count-1> running
// `sleep 1000.<token>`, serves them on 127.0.0.1:<port> (0: any free port),
// prints "port <n>" and "ready", then waits for signals: SIGUSR1 prints
// every state as "state <name> <status> <pid> <restarts>" and then "dump-end";
// SIGUSR2 restarts every program, waits until each runs again and prints
// "churned"; SIGHUP removes the last program (p<count-1>) from the root and
// prints "removed"; SIGWINCH stalls the delivery queue of the node's BASP
// broker (it takes one of the queue's numbers and withholds it, as a BASP
// worker that is preempted while it reads a message does) and prints
// "stalled", the next SIGWINCH releases it and prints "released"; SIGTERM
// shuts down and exits 0. The test SIGKILLs or
// SIGSTOPs it at will (the runtime's guardian kills its programs if it dies).
// With cert, key and ca it serves over TLS (remoting_options::tls); a bad file
// prints the runtime's error and exits 4. It accepts controllers' supervise
// requests (serve_options::accept_supervise) unless the environment sets
// NODE_HELPER_REFUSE_SUPERVISE; NODE_HELPER_REVERSE supervises the programs
// in reverse order (p<count-1> first).
//
// Usage: node_helper count token heartbeat_ms timeout_ms [port [cert key ca]]
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include "basp_stall.hpp"
#include "vitrine/runtime.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: node_helper count token hb_ms timeout_ms [port]\n");
    return 2;
  }
  // Dies with the test, even one that crashed before reaping us.
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) return 3;
  const int count = std::atoi(argv[1]);
  const std::string token = argv[2];
  sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGUSR1);
  sigaddset(&wanted, SIGUSR2);
  sigaddset(&wanted, SIGHUP);
  sigaddset(&wanted, SIGTERM);
  sigaddset(&wanted, SIGWINCH);
  pthread_sigmask(SIG_BLOCK, &wanted, nullptr);  // every thread inherits it

  vitrine::runtime_options options;
  options.remoting.enabled = true;
  options.remoting.heartbeat_interval =
      std::chrono::milliseconds{std::atoi(argv[3])};
  options.remoting.connection_timeout =
      std::chrono::milliseconds{std::atoi(argv[4])};
  if (argc > 8)
    options.remoting.tls = vitrine::tls_options{argv[6], argv[7], argv[8], {}};
  std::optional<vitrine::runtime> built;
  try {
    built.emplace(options);
  } catch (const std::invalid_argument& e) {
    std::printf("error %s\n", e.what());
    std::fflush(stdout);
    return 4;
  }
  auto& rt = *built;
  const bool reverse = std::getenv("NODE_HELPER_REVERSE") != nullptr;
  for (int k = 0; k < count; ++k) {
    const int i = reverse ? count - 1 - k : k;
    vitrine::process_spec spec;
    spec.name = std::to_string(i);
    spec.name.insert(0, 1, 'p');  // not "p" + ...: GCC 12 -O3 -Wrestrict false
                                  // positive (GCC bug 105329)
    spec.launch.argv = {"sleep", "1000." + token};
    spec.startsecs = 0ms;
    rt.supervise(spec);
  }
  vitrine::serve_options serve;
  serve.accept_supervise =
      std::getenv("NODE_HELPER_REFUSE_SUPERVISE") == nullptr;
  serve.port = argc > 5 ? static_cast<std::uint16_t>(std::atoi(argv[5])) : 0;
  const auto port = rt.serve(serve);
  std::printf("port %u\nready\n", static_cast<unsigned>(port));
  std::fflush(stdout);
  std::optional<vitrine::test::basp_stall> stall;  // SIGWINCH's
  for (;;) {
    int sig = 0;
    if (sigwait(&wanted, &sig) != 0) continue;
    if (sig == SIGTERM) break;
    if (sig == SIGWINCH) {
      if (stall)
        stall.reset();
      else
        stall.emplace(rt.system());
      std::printf(stall ? "stalled\n" : "released\n");
      std::fflush(stdout);
      continue;
    }
    if (sig == SIGHUP) {
      std::string last = std::to_string(count - 1);
      last.insert(0, 1, 'p');  // as above (GCC bug 105329)
      const auto change = rt.root().remove_child(last);
      change.wait_for(20s);
      std::printf("removed\n");
      std::fflush(stdout);
      continue;
    }
    if (sig == SIGUSR2) {
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      rt.for_each([&](const vitrine::process_handle& h) {
        h.restart().wait_for_status(vitrine::core::process_status::running,
                                    deadline);
      });
      std::printf("churned\n");
      std::fflush(stdout);
      continue;
    }
    rt.for_each([](const vitrine::process_handle& h) {
      auto s = h.read();
      std::printf("state %s %s %d %u\n", std::string{h.name()}.c_str(),
                  std::string{to_string(s->status)}.c_str(),
                  static_cast<int>(s->pid), s->restart_count);
    });
    std::printf("dump-end\n");
    std::fflush(stdout);
  }
  stall.reset();
  rt.shutdown();
  return 0;
}
