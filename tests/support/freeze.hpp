// freeze: SIGSTOP a process and wait until it has stopped. Test-only; any
// thread. Polls /proc/PID/task every millisecond: O(threads) per poll.
//
// kill(pid, SIGSTOP) returns before a multithreaded process has stopped:
// the kernel wakes one of its threads to begin the group stop, and the
// others run until that thread reaches them. On a loaded 2-CPU machine
// that took milliseconds, during which a node answered a request sent
// after the kill: a test that means "frozen" must wait for the stop.
#pragma once

#include <sys/types.h>

#include <chrono>

namespace vitrine::test {

/// Sends SIGSTOP to `pid` and waits until each of its threads is stopped
/// ('T' in /proc/PID/task/TID/stat). False when that took longer than
/// `limit` or the process is gone.
bool freeze(pid_t pid,
            std::chrono::milliseconds limit = std::chrono::seconds{10});

}  // namespace vitrine::test
