// heap_driver: builds a fleet of N sleeps (VITRINE_E2E_PROCESSES, default
// 1,000; VITRINE_E2E_READS=messaging for the messaging baseline), then _exit()s
// without tearing it down: under heaptrack, every live allocation of the fleet
// shows as leaked, by call site (scripts/heap_breakdown.py runs it and sums the
// sites into parts). The guardian kills the children when it sees us gone.
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fleet.hpp"
#include "vitrine/baseline/messaging.hpp"
int main() {
  const char* n = std::getenv("VITRINE_E2E_PROCESSES");
  vitrine::bench::fleet_options o;
  o.processes = n ? std::strtoul(n, nullptr, 10) : 1000;
  const char* reads = std::getenv("VITRINE_E2E_READS");
  if (reads != nullptr && std::strcmp(reads, "messaging") == 0)
    o.reads = &vitrine::baseline::messaging_reads();
  auto* f = new vitrine::bench::fleet{o};
  std::printf("started %zu in %.3f s\n", f->processes().size(),
              f->start_seconds());
  std::fflush(stdout);
  ::_exit(0);
}
