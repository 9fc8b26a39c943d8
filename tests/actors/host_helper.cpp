// host_helper: a host application for the orphan test. It embeds a
// vitrine::runtime, supervises N children (`sleep 1000`, default 3), prints
// "pid <pid>" for each once it runs, then "ready", and waits for a signal
// (the test SIGKILLs it). Its children must die with it.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "vitrine/runtime.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const int count = argc > 1 ? std::atoi(argv[1]) : 3;
  vitrine::runtime rt;
  for (int i = 0; i < count; ++i) {
    vitrine::process_spec spec;
    spec.name = "orphan-" + std::to_string(i);
    spec.launch.argv = {"sleep", "1000"};
    spec.startsecs = std::chrono::milliseconds{0};
    auto h = rt.supervise(spec);
    if (!h.wait_for_status(vitrine::core::process_status::running,
                           std::chrono::steady_clock::now() + 30s)) {
      std::fprintf(stderr, "host_helper: %s did not start\n",
                   spec.name.c_str());
      return 1;
    }
    std::printf("pid %d\n", static_cast<int>(h.read()->pid));
  }
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) ::pause();
}
