#include "vitrine/os/launch.hpp"

#include "launch_child.hpp"
#include "slot_pool.hpp"
#include "vitrine/os/guardian.hpp"
#include "vitrine/os/program_path.hpp"
#include "vitrine/os/reaper.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace vitrine::os {

namespace {

using detail::child_plan;
using detail::kernel_rlimit;
using detail::n_slots;
using detail::step;

// -- preparation in the parent ------------------------------------------------

launch_error make_error(int code, std::string_view what_step,
                        std::string_view program) {
  launch_error e;
  e.code = code;
  e.what.append(what_step).append(" ").append(program).append(": ");
  const char* text = ::strerrordesc_np(code);
  e.what.append(text != nullptr ? text : "unknown error");
  return e;
}

std::vector<std::string> build_env(const launch_options& o) {
  std::vector<std::string> env;
  if (o.inherit_env && environ != nullptr) {
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  }
  for (const auto& [key, value] : o.env) {
    std::string entry = key + "=" + value;
    bool replaced = false;
    for (auto& existing : env) {
      if (existing.size() > key.size() && existing[key.size()] == '=' &&
          existing.compare(0, key.size(), key) == 0) {
        existing = entry;
        replaced = true;
      }
    }
    if (!replaced) env.push_back(std::move(entry));
  }
  return env;
}

std::vector<char*> c_array(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

// Pipe for the parent to read: read end O_NONBLOCK, both ends O_CLOEXEC.
int make_pipe(unique_fd& read_end, unique_fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  if (::fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) return errno;
  return 0;
}

// Opens what the child's stream `slot` (0, 1, 2) should get into
// `child_fd` (-1: inherited): owned by `child_end`, except the shared
// /dev/null. Returns errno.
int open_stdio(const stdio_target& t, int slot, unique_fd& child_end,
               int& child_fd, unique_fd& parent_end) {
  switch (t.mode) {
    case stdio_target::kind::inherit:
      return 0;
    case stdio_target::kind::null:
      child_fd = shared_dev_null();
      return child_fd >= 0 ? 0 : errno;
    case stdio_target::kind::append_file: {
      // O_NONBLOCK: a FIFO there must not hold the launching thread until
      // a peer opens it (one to write to that has no reader fails with
      // ENXIO). The child gets the usual blocking descriptor.
      constexpr int flags = O_CLOEXEC | O_NONBLOCK;
      child_end.reset(slot == 0 ? ::open(t.path.c_str(), O_RDONLY | flags)
                                : ::open(t.path.c_str(),
                                         O_WRONLY | O_APPEND | O_CREAT | flags,
                                         0644));
      if (!child_end) return errno;
      child_fd = child_end.get();
      const int status = ::fcntl(child_end.get(), F_GETFL);
      if (status < 0 ||
          ::fcntl(child_end.get(), F_SETFL, status & ~O_NONBLOCK) != 0)
        return errno;
      return 0;
    }
    case stdio_target::kind::capture:
      if (slot == 0) return EINVAL;
      if (int err = make_pipe(parent_end, child_end)) return err;
      child_fd = child_end.get();
      return 0;
  }
  return EINVAL;
}

// execve() fails with ENOENT for a file that is there when its #! line
// names a missing interpreter: then the error names that interpreter too,
// so that it does not blame the script.
std::string exec_subject(const std::string& path, const std::string& cwd) {
  const std::string interpreter = script_interpreter(
      path.starts_with('/') || cwd.empty() ? path : cwd + "/" + path);
  if (interpreter.empty() || (interpreter.starts_with('/') &&
                              ::access(interpreter.c_str(), F_OK) == 0))
    return path;  // not that (its ELF loader may be missing)
  return path + ": its #! interpreter " + interpreter;
}

void reap_now(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  release_owned_child(pid);
}

}  // namespace

std::variant<launched_child, launch_error> launch(const launch_options& o,
                                                  guardian* guard) {
  if (o.argv.empty()) return make_error(EINVAL, "launch", "(empty argv)");
  const std::string& program = o.argv.front();
  if (o.notify_fd >= 0 && o.notify_fd <= 2) {
    return make_error(EINVAL, "notify_fd must be >= 3 for", program);
  }

  std::string path;
  if (int err = resolve_program(o, path)) {
    return make_error(err, "exec", program);
  }
  std::vector<std::string> argv_strings = o.argv;
  std::vector<char*> argv = c_array(argv_strings);
  std::vector<std::string> env_strings = build_env(o);
  std::vector<char*> envp = c_array(env_strings);
  std::vector<kernel_rlimit> limits;
  std::vector<int> limit_resources;
  for (const auto& r : o.rlimits) {
    limits.push_back({r.soft, r.hard});
    limit_resources.push_back(r.resource);
  }

  launched_child child;
  std::array<unique_fd, n_slots> child_ends;
  std::array<int, n_slots> child_fds;  // owned by child_ends, or shared
  child_fds.fill(-1);
  std::array<unique_fd*, 3> parent_ends{nullptr, &child.stdout_pipe,
                                        &child.stderr_pipe};
  const std::array<const stdio_target*, 3> targets{
      &o.stdin_target, &o.stdout_target, &o.stderr_target};
  static constexpr std::array<const char*, 3> open_steps{
      "open stdin for", "open stdout for", "open stderr for"};
  for (int slot = 0; slot < 3; ++slot) {
    // stderr captured into stdout's file goes down stdout's pipe (as
    // 2>&1): one pipe keeps the order in which the program wrote them,
    // which two pipes read by one thread did not (out1 out2 err1 err2).
    if (slot == 2 && o.stderr_target.mode == stdio_target::kind::capture &&
        !o.stderr_target.path.empty() && o.stderr_target == o.stdout_target) {
      child_fds[2] = child_fds[1];
      continue;
    }
    unique_fd unused;
    unique_fd& parent_end = parent_ends[slot] ? *parent_ends[slot] : unused;
    if (int err = open_stdio(*targets[slot], slot, child_ends[slot],
                             child_fds[slot], parent_end)) {
      if (targets[slot]->mode != stdio_target::kind::append_file)
        return make_error(err, open_steps[slot], program);
      // The file named, not only the program (an outside tester's FIFO
      // with no reader read "open stdout for /bin/sleep: No such device
      // or address").
      auto e = make_error(err, open_steps[slot],
                          std::string{program} + ": " + targets[slot]->path);
      if (err == ENXIO) e.what += " (a FIFO that no process reads)";
      return e;
    }
  }
  if (o.notify_fd >= 3) {
    if (int err = make_pipe(child.notify_pipe, child_ends[3])) {
      return make_error(err, "create notify pipe for", program);
    }
    child_fds[3] = child_ends[3].get();
  }

  unique_fd cgroup_dir, cgroup_procs;
  if (!o.cgroup.empty()) {
    if (o.cgroup_killed)
      cgroup_procs.reset(
          ::open((o.cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    else
      cgroup_dir.reset(
          ::open(o.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup_dir && !cgroup_procs)
      return make_error(errno, "open cgroup for", program);
  }

  child_plan plan;
  plan.path = path.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = o.cwd.empty() ? nullptr : o.cwd.c_str();
  plan.set_umask = o.umask.has_value();
  plan.umask_value = o.umask.value_or(0);
  plan.limits = limits.data();
  plan.limit_resources = limit_resources.data();
  plan.n_limits = limits.size();
  plan.death_signal = o.death_signal;
  plan.parent_pid = ::getpid();
  plan.cgroup_dir_fd = cgroup_dir.get();
  // What the child keeps goes into low slots where a spawn_slots pool is
  // live (spawn_slots.hpp): the child's table is then a copy of the few
  // descriptors below them, not of all of ours.
  detail::slot_lease slots;
  plan.cgroup_procs_fd = slots.hand_over(cgroup_procs.get());
  plan.keep_below = std::max(3, plan.cgroup_procs_fd + 1);
  plan.guarded_groups = guard ? guard->group_table() : nullptr;
  for (int i = 0; i < n_slots; ++i) {
    plan.src[i] = slots.hand_over(child_fds[i]);
    plan.keep_below = std::max(plan.keep_below, plan.src[i] + 1);
  }
  plan.dst[3] = o.notify_fd >= 3 ? o.notify_fd : -1;
  plan.high_fd = o.notify_fd >= 3 ? o.notify_fd + 1 : 3;

  int clone_errno = 0;
  int pidfd = -1;
  pid_t pid;
  {
    // No orphan scan may see the child before it is registered as owned.
    owned_child_scope scope;
    pid = detail::start_child(plan, &pidfd, &clone_errno);
    if (pid > 0) register_owned_child(pid);
  }
  slots.release();  // the child has exec'd (or failed): it holds its own
  if (pid < 0) return make_error(clone_errno, "clone for", program);
  child.pid = pid;
  child.pidfd.reset(pidfd);

  if (plan.failed != 0) {
    int err = plan.err;
    // Before the reap frees the group id: the child may have marked it.
    if (guard) guard->forget_group(pid);
    reap_now(pid);
    auto failed = static_cast<step>(plan.failed);
    if (failed == step::chdir) {
      return make_error(err, "chdir to " + o.cwd + " for", program);
    }
    if (failed == step::exec && err == ENOENT)
      return make_error(err, "exec", exec_subject(path, o.cwd));
    return make_error(err, step_text(failed), path);
  }
  return child;
}

int shared_dev_null() noexcept {
  static std::atomic<int> shared{-1};
  int fd = shared.load(std::memory_order_acquire);
  if (fd >= 0) return fd;
  fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  int expected = -1;
  if (!shared.compare_exchange_strong(expected, fd,
                                      std::memory_order_acq_rel)) {
    ::close(fd);  // another thread's came first
    return expected;
  }
  return fd;
}

}  // namespace vitrine::os
