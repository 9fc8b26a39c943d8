// The registry rows of vitrine_bench_core (core_registry_bench.cpp).
// Benchmark support: call from main() before benchmark::Initialize().
#pragma once

namespace vitrine::bench {

/// Registers lookup/<impl> and iterate/<impl>, in the order results.md
/// shows them.
void register_registry_benchmarks();

}  // namespace vitrine::bench
