// heap_driver: builds a hybrid fleet of N sleeps (VITRINE_E2E_PROCESSES,
// default 1,000), then _exit()s without tearing it down: under heaptrack,
// every live allocation of the fleet shows as leaked, by call site
// (scripts/heap_breakdown.py runs it and sums the sites into parts). The
// guardian kills the children when it sees us gone.
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include "fleet.hpp"
int main() {
  const char* n = std::getenv("VITRINE_E2E_PROCESSES");
  vitrine::bench::fleet_options o;
  o.processes = n ? std::strtoul(n, nullptr, 10) : 1000;
  auto* f = new vitrine::bench::fleet{o};
  std::printf("started %zu in %.3f s\n", f->processes().size(),
              f->start_seconds());
  std::fflush(stdout);
  ::_exit(0);
}
