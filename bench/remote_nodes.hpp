// remote_nodes: what the two files of the vitrine_bench_remote binary share
// (remote_bench.cpp: the churn node and the read/propagation rows;
// remote_fleet_bench.cpp: the fleet and frozen-node rows). Benchmark
// support only; call from the benchmark's main thread.
//
// The fleet rows run their nodes as separate programs: the binary spawns
// itself (posix_spawn, safe from a threaded process) with "--remote-node"
// first on its command line, and main() hands such an invocation to
// run_remote_node() before Google Benchmark sees it.
#pragma once

namespace vitrine::bench {

/// True when argv asks this process to be a spawned node.
bool is_remote_node(int argc, char** argv);
/// Runs the node argv describes until its standard input closes; returns
/// the exit status for main().
int run_remote_node(int argc, char** argv);

/// Stops the churn node and the controller that mirrors it (idempotent):
/// the fleet rows measure this process's CPU time and memory, which that
/// mirror would add to. The read/propagation rows skip once it is stopped.
void stop_churn_node();
/// Stops every node the fleet rows spawned and reaps them (idempotent).
void stop_spawned_nodes();

}  // namespace vitrine::bench
