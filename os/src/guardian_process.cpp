// The guardian process (guardian_process.hpp): raw system calls only.
#include "guardian_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "guardian_wire.hpp"

namespace vitrine::os::detail {

namespace {

constexpr std::size_t max_cgroup_path = 4096;

// Fd numbers inside the guardian.
constexpr int g_socket = 3;
constexpr int g_cgroup = 4;
constexpr int g_host = 5;

// -- the guardian process: raw system calls only ---------------------------

VITRINE_CHILD_CODE bool contains(const char* text, long n, const char* word) {
  for (long i = 0; i < n; ++i) {
    long k = 0;
    while (word[k] != '\0' && i + k < n && text[i + k] == word[k]) ++k;
    if (word[k] == '\0') return true;
  }
  return false;
}

VITRINE_CHILD_CODE void sleep_ms(long ms) {
  struct timespec ts {
    0, ms * 1000000L
  };
  raw(SYS_nanosleep, reinterpret_cast<long>(&ts), 0);
}

// Removes every cgroup below the directory `dir`, deepest first (a program
// may make cgroups of its own inside its cgroup, as a nested vitrine run
// does, and a cgroup with children cannot be removed). 2 KiB of stack a
// level, at most 16 levels deep.
VITRINE_CHILD_CODE void remove_below(long dir, int depth) {
  alignas(8) char entries[2048];
  for (;;) {
    const long n = raw(SYS_getdents64, dir, reinterpret_cast<long>(entries),
                       sizeof entries);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name
      unsigned short reclen;
      __builtin_memcpy(&reclen, entries + at + 16, sizeof reclen);
      const unsigned char type = static_cast<unsigned char>(entries[at + 18]);
      const char* name = entries + at + 19;
      if (type == 4 /* DT_DIR */ && name[0] != '.') {
        const long below =
            depth < 16 ? raw(SYS_openat, dir, reinterpret_cast<long>(name),
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                       : -1;
        if (below >= 0) {
          remove_below(below, depth + 1);
          raw(SYS_close, below);
        }
        raw(SYS_unlinkat, dir, reinterpret_cast<long>(name), AT_REMOVEDIR);
      }
      at += reclen;
    }
  }
}

// Waits (at most ~2 s) until the cgroup is empty, then removes the program
// cgroups (and those below them) and the runtime's own.
VITRINE_CHILD_CODE void remove_cgroups(const guardian_plan* plan) {
  for (int i = 0; i < 200; ++i) {
    long fd = raw(SYS_openat, g_cgroup, reinterpret_cast<long>("cgroup.events"),
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    char text[256];
    long n = raw(SYS_read, fd, reinterpret_cast<long>(text), sizeof text);
    raw(SYS_close, fd);
    if (n <= 0 || contains(text, n, "populated 0")) break;
    sleep_ms(10);
  }
  remove_below(g_cgroup, 0);
  raw(SYS_unlinkat, AT_FDCWD, reinterpret_cast<long>(plan->cgroup_root),
      AT_REMOVEDIR);
}

// Reads what is queued on the socket: returns false once the host end is
// closed (or the socket failed), true when the queue is empty. A quit
// message ends the guardian here (a normal shutdown: kill nothing).
VITRINE_CHILD_CODE bool take_messages() {
  for (;;) {
    guardian_record r{};
    const long got = raw(SYS_recvfrom, g_socket, reinterpret_cast<long>(&r),
                         sizeof r, MSG_DONTWAIT, 0, 0);
    if (got == 0) return false;  // the host end is closed
    if (got < 0) return errno == EAGAIN || errno == EINTR;
    if (got == sizeof r && r.op == guardian_quit) raw(SYS_exit_group, 0);
  }
}

// Writes `value` in decimal at `to` (room for 20 digits); returns the end.
VITRINE_CHILD_CODE char* put_decimal(char* to, std::uint64_t value) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *to++ = digits[--n];
  return to;
}

// Whether /proc shows this process under its own pid: otherwise it is the
// /proc of another pid namespace, where group ids name other processes.
VITRINE_CHILD_CODE bool proc_is_ours() {
  char link[24];
  const long n =
      raw(SYS_readlinkat, AT_FDCWD, reinterpret_cast<long>("/proc/self"),
          reinterpret_cast<long>(link), sizeof link);
  char own[24];
  const long m =
      put_decimal(own, static_cast<std::uint64_t>(raw(SYS_getpid))) - own;
  if (n != m) return false;
  for (long i = 0; i < n; ++i)
    if (link[i] != own[i]) return false;
  return true;
}

// Whether process `pid` started after `latest_ticks` (clock ticks since
// boot, the unit of /proc/<pid>/stat's field 22). False when that cannot
// be read: no such process, or an unexpected format.
VITRINE_CHILD_CODE bool started_after(long pid, std::uint64_t latest_ticks) {
  char path[40] = "/proc/";
  char* end = put_decimal(path + 6, static_cast<std::uint64_t>(pid));
  const char tail[] = "/stat";
  for (std::size_t i = 0; i < sizeof tail; ++i) end[i] = tail[i];
  const long fd = raw(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path),
                      O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[1024];
  const long n = raw(SYS_read, fd, reinterpret_cast<long>(text), sizeof text);
  raw(SYS_close, fd);
  // The command (field 2) may hold spaces and parentheses: fields 3 on
  // follow its last ')'. Field 22 is the start time.
  long at = n - 1;
  while (at >= 0 && text[at] != ')') --at;
  if (at < 0) return false;
  at += 2;
  for (int field = 3; field < 22 && at < n; ++at)
    if (text[at] == ' ') ++field;
  std::uint64_t started = 0;
  bool any = false;
  for (; at < n && text[at] >= '0' && text[at] <= '9'; ++at, any = true)
    started = started * 10 + static_cast<std::uint64_t>(text[at] - '0');
  return any && started > latest_ticks;
}

// Kills every group marked in the table. The host is gone, so the table
// no longer changes, but for a child it cloned just before it died, which
// may still mark its own group (and, with PR_SET_PDEATHSIG, dies anyway).
//
// A group id is spared when a process that started after the latest mark
// holds it: every leader the host marked started before that mark, so this
// one took over the id of a group that died while the host was gone (its
// leader killed by its death signal and reaped by init, mark still set)
// and before we ran: a guardian stopped (SIGSTOP) when the host died and
// continued later. A group whose leader is gone is killed: its id cannot
// be reused while any member lives. Not told apart: a process started
// within the same clock tick (10 ms) as the latest mark.
[[noreturn]] VITRINE_CHILD_CODE void kill_everything(guardian_plan* plan) {
  namespace table = guardian_table;
  const bool can_tell_reuse = proc_is_ours();
  const std::uint64_t latest_ticks =
      table::latest_mark_ns(plan->groups) / plan->ns_per_clock_tick;
  for (std::size_t page = 0; page < table::pages; ++page) {
    if (!table::page_written(plan->groups, page)) continue;
    for (std::size_t w = page * table::page_words;
         w < (page + 1) * table::page_words; ++w) {
      std::uint64_t bits = table::group_word(plan->groups, w);
      while (bits != 0) {
        const long pgid = static_cast<long>(w * 64) + __builtin_ctzll(bits);
        bits &= bits - 1;
        if (pgid <= 1) continue;
        if (can_tell_reuse && started_after(pgid, latest_ticks)) continue;
        raw(SYS_kill, -pgid, SIGKILL);
      }
    }
  }
  if (plan->cgroup_root != nullptr) {
    long fd = raw(SYS_openat, g_cgroup, reinterpret_cast<long>("cgroup.kill"),
                  O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      raw(SYS_write, fd, reinterpret_cast<long>("1"), 1);
      raw(SYS_close, fd);
    }
    remove_cgroups(plan);
  }
  raw(SYS_exit_group, 0);
  __builtin_unreachable();
}

// Overwrites this copy of the host's argument strings, which
// /proc/<pid>/cmdline (and so `ps -o args`, `pgrep -f`) shows: the
// guardian reads as "vitrine-guard", not as a second host. The area ends
// in a NUL, so the kernel does not read on into the environment.
VITRINE_CHILD_CODE void show_own_name(char* low, char* high) {
  if (low == nullptr || high <= low) return;
  constexpr char name[] = "vitrine-guard";
  volatile char* to = low;
  const std::size_t size = static_cast<std::size_t>(high - low);
  for (std::size_t i = 0; i < size; ++i)
    to[i] = i + 1 < size && i + 1 < sizeof name ? name[i] : '\0';
}

// Puts the fds the guardian keeps at fixed numbers and closes all others.
VITRINE_CHILD_CODE void arrange_fds(guardian_plan* plan, int host_pidfd) {
  const int src[6] = {plan->devnull_fd, plan->devnull_fd,    plan->devnull_fd,
                      plan->socket_fd,  plan->cgroup_dir_fd, host_pidfd};
  int high = 0;
  for (int fd : src) high = fd > high ? fd : high;
  int moved[6];
  for (int i = 0; i < 6; ++i)
    moved[i] = src[i] < 0 ? -1
                          : static_cast<int>(raw(SYS_fcntl, src[i],
                                                 F_DUPFD_CLOEXEC, high + 1));
  for (int i = 0; i < 6; ++i)
    if (moved[i] >= 0) raw(SYS_dup3, moved[i], i, 0);
  raw(SYS_close_range, 6, ~0u, 0);
  plan->socket_fd = g_socket;
  plan->cgroup_dir_fd = src[4] >= 0 ? g_cgroup : -1;
}

}  // namespace

VITRINE_CHILD_CODE int guardian_main(void* arg) {
  // Out of the host's process group and session before anything else: a
  // kill of the host's group (a terminal's ^C, kill -KILL -PGID) must not
  // take us with it, however soon it comes. The host waits for this.
  raw(SYS_setsid);
  {
    const guardian_record ready{guardian_ready, 0};
    raw(SYS_sendto, static_cast<const guardian_plan*>(arg)->socket_fd,
        reinterpret_cast<long>(&ready), sizeof ready,
        MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
  }
  // Our own copies: the host's stack and heap are dropped below.
  guardian_plan copy;
  {
    const auto* host_plan = static_cast<const guardian_plan*>(arg);
    copy.socket_fd = host_plan->socket_fd;
    copy.devnull_fd = host_plan->devnull_fd;
    copy.cgroup_dir_fd = host_plan->cgroup_dir_fd;
    copy.host = host_plan->host;
    copy.groups = host_plan->groups;
    copy.ns_per_clock_tick = host_plan->ns_per_clock_tick;
    copy.stack_low = host_plan->stack_low;
    copy.stack_high = host_plan->stack_high;
    copy.args_low = host_plan->args_low;
    copy.args_high = host_plan->args_high;
    copy.cgroup_root = nullptr;
  }
  char root[max_cgroup_path];
  if (const char* from = static_cast<const guardian_plan*>(arg)->cgroup_root) {
    volatile char* to = root;
    std::size_t i = 0;
    for (; from[i] != '\0' && i + 1 < sizeof root; ++i) to[i] = from[i];
    to[i] = '\0';
    copy.cgroup_root = root;
  }
  guardian_plan* plan = &copy;
  {
    keep_ranges keep{};
    keep.low[0] = reinterpret_cast<std::uintptr_t>(plan->stack_low);
    keep.high[0] = reinterpret_cast<std::uintptr_t>(plan->stack_high);
    // The table is a shared mapping (never dropped: not "rw-p"); kept
    // here as well, should a maps line ever show it merged.
    keep.low[1] = reinterpret_cast<std::uintptr_t>(plan->groups);
    keep.high[1] = keep.low[1] + guardian_table::bytes;
    // errno and the thread's control block (stack guard at %fs:0x28).
    const auto errno_at = reinterpret_cast<std::uintptr_t>(&errno);
    const auto tcb =
        reinterpret_cast<std::uintptr_t>(__builtin_thread_pointer());
    keep.low[2] = errno_at < tcb ? errno_at : tcb;
    keep.high[2] =
        errno_at + sizeof(int) > tcb + 64 ? errno_at + sizeof(int) : tcb + 64;
    release_host_memory(keep);
  }
  // Dispositions: the host's handlers must never run here; termination
  // signals a user sends to "everything vitrine" are ignored.
  constexpr int ignored[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
                             SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
                             SIGTSTP, SIGTTIN, SIGTTOU};
  for (int sig = 1; sig <= kernel_nsig; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    kernel_sigaction act{};
    act.handler = SIG_DFL;
    for (int s : ignored)
      if (s == sig) act.handler = SIG_IGN;
    raw(SYS_rt_sigaction, sig, reinterpret_cast<long>(&act), 0,
        kernel_sigset_size);
  }
  show_own_name(plan->args_low, plan->args_high);
  // Named last (after the memory release above): a test that sees the name
  // sees a settled guardian.
  raw(SYS_prctl, PR_SET_NAME, reinterpret_cast<long>("vitrine-guard"));
  const long host_pidfd = raw(SYS_pidfd_open, plan->host, 0);
  arrange_fds(plan, static_cast<int>(host_pidfd));
  std::uint64_t none = 0;
  raw(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&none), 0,
      kernel_sigset_size);
  // The host died before we could watch it.
  if (host_pidfd < 0 || raw(SYS_getppid) != plan->host) kill_everything(plan);

  for (;;) {
    struct pollfd fds[2] = {{g_socket, POLLIN, 0}, {g_host, POLLIN, 0}};
    long n = raw(SYS_ppoll, reinterpret_cast<long>(fds), 2, 0, 0, 0);
    if (n < 0) continue;  // EINTR
    if (fds[1].revents != 0) kill_everything(plan);
    if (fds[0].revents != 0 && !take_messages()) kill_everything(plan);
  }
}

}  // namespace vitrine::os::detail
