// heap_breakdown: what one supervised process costs on the heap, part by
// part, measured with mallinfo2() deltas over N of each part built alone
// (the end-to-end benchmark's e2e/heap_breakdown). Benchmark support only;
// one thread at a time (the deltas are process-wide).
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace vitrine::bench {

/// Bytes per process of each part, keyed by a short name:
///   record            a process_record as hybrid makes it: its initial
///                     state snapshot and its name string (its history
///                     starts as the shared empty one)
///   cells_published   + one newer state and history published into it
///                     (the old state retired and, once reclaimed, freed)
///   caf_actor_min     a minimal CAF event-based actor (no state of ours)
///   packed_spec       a `sleep` spec as its process actor keeps it: the
///                     inline part and its packed block
/// and the sizes (not heap deltas) sizeof_state, sizeof_history of the
/// published snapshots.
std::map<std::string, double> heap_parts(std::size_t n);

}  // namespace vitrine::bench
