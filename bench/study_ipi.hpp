// The core study's IPI experiment (study_ipi.cpp): what a writer's
// publishes and scans cost a thread that never reads. Benchmark support;
// call from the study binary's main thread (it starts and joins two
// threads pinned to CPUs 0 and 1 where the machine has them).
#pragma once

#include "study_util.hpp"

namespace vitrine::bench::study {

/// Rows ipi/idle, ipi/publish, ipi/scan_each, ipi/spin: the compute
/// thread's chunk time (p50, p90) with the writer in each mode, its
/// slowdown against idle, and the function-call IPIs and scans per second.
void ipi_cost(study_output& out);

}  // namespace vitrine::bench::study
