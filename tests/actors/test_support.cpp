#include "test_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/leftovers.hpp"
#include "vitrine/os/launch.hpp"
#include "vitrine/os/process_scan.hpp"

namespace vitrine::test {

std::string comm_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

std::string describe_leftovers(const std::string& marker) {
  std::ostringstream out;
  for (pid_t pid : processes_with(marker))
    if (const auto e = os::read_proc_entry(pid))
      out << "pid " << e->pid << " ppid " << e->ppid << " pgrp " << e->pgrp
          << " (" << comm_of(pid) << "), ";
  return out.str();
}

process_spec sh(std::string name, std::string script) {
  process_spec spec;
  spec.name = std::move(name);
  spec.launch.argv = {"/bin/sh", "-c", std::move(script)};
  spec.startsecs = 0ms;
  spec.backoff.min = 10ms;
  spec.backoff.jitter = 0;
  spec.stop_timeout = 1000ms;
  // No per-process restart limit: these tests count restarts themselves;
  // the conformance suite sets limits where it tests them.
  spec.restart_limit.interval = 0ms;
  return spec;
}

bool eventually(const std::function<bool()>& pred, ms limit) {
  const auto deadline = in(limit);
  for (;;) {
    if (pred()) return true;
    if (clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
}

std::string describe(const core::process_state& s) {
  std::ostringstream out;
  out << s.name() << ": " << core::to_string(s.status) << " pid " << s.pid
      << " restarts " << s.restart_count << " last exit "
      << core::describe(s.last_exit) << " version " << s.version;
  if (!s.spawn_error().empty())
    out << " spawn error '" << s.spawn_error() << "'";
  return out.str();
}

std::string describe(const core::supervisor_state& s) {
  std::ostringstream out;
  out << "supervisor " << s.name() << ": " << core::to_string(s.status)
      << " children " << s.child_count << " restarts " << s.restarts
      << " version " << s.version;
  return out.str();
}

bool reaches(const process_handle& h, core::process_status status, ms limit) {
  return reaches_when(
      h, [status](const core::process_state& s) { return s.status == status; },
      limit);
}

bool reaches_when(const process_handle& h,
                  const std::function<bool(const core::process_state&)>& pred,
                  ms limit) {
  if (h.wait_until(pred, in(limit))) return true;
  UNSCOPED_INFO("gave up waiting after " << limit.count() << " ms; now "
                                         << describe(*h.read()));
  return false;
}

bool reaches(const supervisor_handle& h, core::supervisor_status status,
             ms limit) {
  if (h.wait_for_status(status, in(limit))) return true;
  UNSCOPED_INFO("gave up waiting for " << core::to_string(status) << " after "
                                       << limit.count() << " ms; now "
                                       << describe(*h.read()));
  return false;
}

std::vector<core::transition> history_of(const process_handle& h) {
  auto snapshot = h.history();
  std::vector<core::transition> out;
  for (std::size_t i = 0; i < snapshot->size(); ++i)
    out.push_back((*snapshot)[i]);
  return out;
}

std::vector<pid_t> pids_in_history(const process_handle& h) {
  std::vector<pid_t> pids;
  for (const auto& t : history_of(h))
    if (t.pid != 0 && (pids.empty() || pids.back() != t.pid))
      pids.push_back(t.pid);
  return pids;
}

std::vector<clock::duration> restart_gaps(const process_handle& h) {
  using core::process_status;
  std::vector<clock::duration> gaps;
  const auto history = history_of(h);
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (history[i].status != process_status::backoff) continue;
    for (std::size_t j = i + 1; j < history.size(); ++j) {
      const auto next = history[j].status;
      if (next == process_status::starting || next == process_status::running) {
        gaps.push_back(history[j].at - history[i].at);
        break;
      }
      if (next != process_status::backoff) break;  // stopped, failed...
    }
  }
  return gaps;
}

bool gone(pid_t pid) {
  return !os::is_alive(pid);
}

bool all_gone(const std::vector<pid_t>& pids, ms limit) {
  return eventually(
      [&] {
        for (pid_t p : pids)
          if (!gone(p)) return false;
        return true;
      },
      limit);
}

pid_t read_pid_file(const std::string& path) {
  pid_t pid = 0;
  // The script writes "<pid>\n"; wait for the newline so the read is whole.
  eventually([&] {
    const auto text = read_file(path);
    if (text.empty() || text.back() != '\n') return false;
    pid = static_cast<pid_t>(std::atoi(text.c_str()));
    return true;
  });
  return pid;
}

// The shared /dev/null is the process's from its first launch on: counted
// before, not a leak of the test's runtime.
leak_checker::leak_checker()
    : fds_((os::shared_dev_null(), os::count_open_fds())) {
  // A test must not start with leftovers from an earlier one; they are
  // reported once, by the test that left them, and ignored here.
  for (const auto& c : os::children_of(::getpid())) {
    WARN("child " << c.pid << " (state " << c.state
                  << ") already present before the test");
    before_.push_back(c.pid);
  }
}

leak_checker::~leak_checker() {
  // The runtime's destructor waits until every child is reaped, so nothing
  // may be left at all: no running child and no zombie.
  for (const auto& c : os::children_of(::getpid())) {
    if (std::find(before_.begin(), before_.end(), c.pid) != before_.end())
      continue;
    UNSCOPED_INFO("left-over child " << c.pid << " in state " << c.state
                                     << (os::is_zombie(c) ? " (zombie)" : ""));
    CHECK(false);
  }
  // Fds go synchronously with an owned actor system; with a borrowed one an
  // actor object (and the log files it holds) may be freed a moment after
  // it quit, so allow a short grace period. A real leak stays.
  const bool fds_back =
      eventually([&] { return os::count_open_fds() == fds_; }, 5000ms);
  if (!fds_back)
    UNSCOPED_INFO("open fds now " << os::count_open_fds() << ", before "
                                  << fds_);
  CHECK(fds_back);
}

}  // namespace vitrine::test
