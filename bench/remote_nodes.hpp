// remote_nodes: what the files of the vitrine_bench_remote binary share
// (remote_bench.cpp: the churn node and the read/propagation rows;
// remote_fleet_bench.cpp: the fleet and frozen-node rows;
// remote_spawned_nodes.cpp: the nodes those spawn). Benchmark
// support only; call from the benchmark's main thread.
//
// The fleet rows run their nodes as separate programs: the binary spawns
// itself (posix_spawn, safe from a threaded process) with "--remote-node"
// first on its command line, and main() hands such an invocation to
// run_remote_node() before Google Benchmark sees it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "vitrine/runtime.hpp"

namespace vitrine::bench {

/// A spawned node: its pid (also its process group), the write end of its
/// stdin (closing it stops the node) and the port it serves on 127.0.0.1.
struct spawned_node {
  pid_t pid = -1;
  int stdin_fd = -1;
  std::uint16_t port = 0;
};

/// Spawns a node of `processes` idle sleeps (remote_spawned_nodes.cpp)
/// with those remoting settings; nullopt (and nothing left behind) if it
/// did not report a port within 300 s.
std::optional<spawned_node> spawn_node(unsigned processes,
                                       std::chrono::milliseconds heartbeat,
                                       std::chrono::milliseconds timeout);
/// Stops and reaps a node spawn_node() returned (idempotent).
void stop_node(const spawned_node& node);

/// A runtime with remoting on and those settings (nodes and controllers).
runtime_options remote_options(std::chrono::milliseconds heartbeat,
                               std::chrono::milliseconds timeout);

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
