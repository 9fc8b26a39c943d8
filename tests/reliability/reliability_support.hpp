// Helpers for the reliability tests (faults, bad input, chaos): scaling the
// work down under sanitizers, a whole-/proc scan that finds what a run left
// behind even when pids have been reused, the heap in use, and running a
// check in a forked child process that reports through its exit code.
//
// Test-only. Every function may be called from any thread, but the /proc
// scans are O(processes on the machine) and allocate: call them from the
// test's main thread, outside the timed parts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

namespace vitrine::reliability {

using ms = std::chrono::milliseconds;
using seconds = std::chrono::seconds;

/// VITRINE_STRESS_SCALE (set by scripts/test.sh to 10 under ASan, 20 under
/// TSan); 1 when unset or not a positive number.
unsigned stress_scale();

/// The seconds in environment variable `env` (or `fallback`), divided by
/// stress_scale(), but at least `floor`.
seconds scaled_seconds(const char* env, seconds fallback, seconds floor);

/// True when the heap can be measured with mallinfo2 (not under ASan or
/// TSan, whose allocators glibc's counters do not see).
bool heap_measurable();

/// Bytes handed out by malloc and not yet freed, over all arenas, mmapped
/// chunks included (mallinfo2: uordblks + hblkhd).
std::size_t heap_in_use();

/// One line of /proc/<pid>/stat.
struct proc_info {
  pid_t pid = 0;
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  std::string comm;
};

/// Every process on the machine (a snapshot; processes come and go).
std::vector<proc_info> all_processes();

/// "pid 42 (sleep) state S ppid 1 pgrp 40".
std::string describe(const proc_info& p);

/// What a run left behind: processes (zombies included) whose parent is this
/// process, and live processes in one of `our_groups` (process groups that
/// children of ours led: pgid == the child's pid).
///
/// Pids are reused (pid_max is 32768 on the test machines, and a chaos run
/// spawns tens of thousands of children), so a group id of ours may name a
/// stranger's group by the time we look. The kernel never hands out a pid
/// that is still in use as a process group id, so if the process whose pid
/// equals the group id is alive and is not our child, it is a new leader
/// of a new group that merely reuses the number: its members are not ours.
std::vector<proc_info> leftovers(const std::unordered_set<pid_t>& our_groups);

/// Processes other than this one whose environment contains `needle`
/// (e.g. "VITRINE_RELIABILITY_TOKEN=abc"); zombies have no environment and
/// are never returned.
std::vector<proc_info> processes_with_env(const std::string& needle);

/// Forks; the child runs body() and _exits with its result (an exception
/// exits with 120). Returns the exit code, 128 + signal if it was killed,
/// or -1 if it ran past `limit` (it is then SIGKILLed and reaped).
/// @warning fork only copies the calling thread: call this while the test
/// process has no other thread (no runtime alive).
int run_in_child(const std::function<int()>& body, ms limit);

}  // namespace vitrine::reliability
