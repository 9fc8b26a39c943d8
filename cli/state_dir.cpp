#include "state_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace vitrine::cli {
namespace {

std::string errno_text(int error) {
  return std::strerror(error);
}

/// The absolute, lexically normal form of `path` (no symbolic link
/// resolved): the working directory before a relative one, then no "."
/// component, no ".." (each removes the one before; "/.." is "/"), no
/// repeated or trailing '/'. Written out rather than with std::filesystem,
/// which brings the iostream and locale machinery into the `vitrine` front
/// (docs/cli.md, "Binaries").
std::string absolute_path(const std::string& path) {
  std::string whole = path;
  if (path.empty() || path.front() != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
    whole = std::string{cwd} + "/" + path;
  }
  std::vector<std::string_view> parts;
  const std::string_view text{whole};
  for (std::size_t at = 0; at <= text.size();) {
    std::size_t end = text.find('/', at);
    if (end == text.npos) end = text.size();
    const std::string_view part = text.substr(at, end - at);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    at = end + 1;
  }
  if (parts.empty()) return "/";
  std::string normal;
  for (const std::string_view part : parts) (normal += '/') += part;
  return normal;
}

/// "" when `path` is a directory this uid may trust: owned by it (or, for a
/// reader, we are root), not writable by group or others, and not reached
/// through a symbolic link; else what is wrong.
std::string check_directory(const std::string& path, bool root_may_read) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return path + ": " + errno_text(errno);
  if (S_ISLNK(st.st_mode)) return path + " is a symbolic link: refused";
  if (!S_ISDIR(st.st_mode)) return path + " is not a directory";
  const uid_t me = ::geteuid();
  if (st.st_uid != me && !(root_may_read && me == 0))
    return path + " belongs to uid " + std::to_string(st.st_uid) +
           ", not to this user (uid " + std::to_string(me) + "): refused";
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return path + " is writable by group or others: refused (chmod 700)";
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr)
    return path + ": " + errno_text(errno);
  if (resolved != path)
    return path + " is reached through a symbolic link (it resolves to " +
           resolved + "): refused";
  return {};
}

/// "" when the directory holding `path` cannot be used to swap it: owned
/// by this uid or root, and either not writable by others or sticky (/tmp).
std::string check_parent(const std::string& path) {
  // `path` is absolute_path()'s: "/" alone, or no trailing '/'.
  const std::size_t slash = path.rfind('/');
  const std::string parent = slash == 0 || slash == path.npos
                                 ? std::string{"/"}
                                 : path.substr(0, slash);
  struct stat st {};
  if (::stat(parent.c_str(), &st) != 0)
    return parent + ": " + errno_text(errno);
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return parent + " (holding the state directory) belongs to uid " +
           std::to_string(st.st_uid) + ": refused";
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
    return parent +
           " (holding the state directory) is writable by others and not "
           "sticky: refused";
  return {};
}

/// "" when the control socket's path in `dir` fits a sockaddr_un (bind(2)
/// takes no longer path); else why the directory cannot be used.
std::string check_socket_room(const std::string& dir) {
  const std::size_t limit = sizeof(sockaddr_un{}.sun_path) - 1;
  const std::size_t size = dir.size() + 1 + control_socket_leaf.size();
  if (size <= limit) return {};
  return "the state directory path is too long: its control socket " + dir +
         "/" + std::string{control_socket_leaf} + " would be " +
         std::to_string(size) + " bytes, above the limit of " +
         std::to_string(limit) + " for a socket path (choose a shorter " +
         "--state-dir)";
}

/// mkdir -p with mode 0700 for every directory it creates. A symbolic link
/// on the way is refused before anything is created under it (the state
/// directory must not be reached through one: check_directory).
std::string make_directories(const std::string& path) {
  std::string prefix;
  std::size_t begin = 0;
  while (begin < path.size()) {
    std::size_t end = path.find('/', begin + 1);
    if (end == std::string::npos) end = path.size();
    prefix = path.substr(0, end);
    begin = end;
    if (prefix == "/" || prefix.empty()) continue;
    struct stat st {};
    if (::lstat(prefix.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      return path + " is reached through a symbolic link (" + prefix +
             "): refused, nothing created";
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot create " + prefix + ": " + errno_text(errno);
  }
  return {};
}

/// Whether some process holds an exclusive lock on `lock_path`.
bool locked_by_someone(const std::string& lock_path) {
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // drops our shared lock, if we got it
  return held;
}

/// The first line of the lock file: what marks a directory as vitrine's.
constexpr std::string_view state_marker = "vitrine state directory\n";

/// Whether `lock_path` is a lock file a run wrote (it begins with the
/// marker); `empty` gets whether it is an empty regular file.
bool marked_lock(const std::string& lock_path, bool& empty) {
  empty = false;
  const os::unique_fd fd{::open(
      lock_path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  empty = st.st_size == 0;
  char head[state_marker.size()];
  return ::pread(fd.get(), head, sizeof head, 0) == ssize_t{sizeof head} &&
         std::string_view{head, sizeof head} == state_marker;
}

/// A name in `dir` that no run wrote: "" when a run marked `dir` (its lock
/// file) or it is empty (or holds only the empty lock file of a claim cut
/// short). `error` gets why `dir` could not be listed.
std::string foreign_entry(const std::string& dir, std::string& error) {
  bool empty_lock = false;
  if (marked_lock(dir + "/" + std::string{lock_leaf}, empty_lock)) return {};
  DIR* listing = ::opendir(dir.c_str());
  if (listing == nullptr) {
    error = dir + ": " + errno_text(errno);
    return {};
  }
  std::string foreign;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == ".." || (name == lock_leaf && empty_lock))
      continue;
    foreign = name;
    break;
  }
  ::closedir(listing);
  return foreign;
}

/// "" when `dir` may serve as a state directory (foreign_entry()); else
/// why not. A run writes config, order, lock, status and control there and
/// removes the last two: other files of those names would be lost
/// (`--state-dir .` in a project directory).
std::string check_ours(const std::string& dir) {
  std::string error;
  const std::string foreign = foreign_entry(dir, error);
  if (!error.empty() || foreign.empty()) return error;
  return dir + " is not a vitrine state directory (it holds '" + foreign +
         "', which no vitrine run wrote, and a run would overwrite or "
         "remove its config, order, lock, status and control): refused; "
         "choose a new or empty --state-dir";
}

/// The instance directories under `base` (names only), sorted.
std::vector<std::string> instances_under(const std::string& base) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) return names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (entry->d_type == DT_DIR || entry->d_type == DT_UNKNOWN)
      names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string default_state_base() {
  const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
  if (runtime_dir != nullptr && runtime_dir[0] == '/')
    return absolute_path(std::string{runtime_dir} + "/vitrine");
  return "/tmp/vitrine-" + std::to_string(::geteuid());
}

bool is_dot_name(std::string_view name) noexcept {
  return name == "." || name == "..";
}

std::string default_state_dir(std::string_view instance) {
  const bool usable = !instance.empty() && !is_dot_name(instance);
  return default_state_base() + "/" +
         std::string{usable ? instance : std::string_view{"vitrine"}};
}

std::optional<state_dir> state_dir::claim(const std::string& path,
                                          std::string& error) {
  if (path.empty()) {
    error = "the state directory path is empty";
    return std::nullopt;
  }
  const std::string dir = absolute_path(path);
  // Checked before anything is created: a refused path leaves nothing.
  if (error = check_socket_room(dir); !error.empty()) return std::nullopt;
  if (error = make_directories(dir); !error.empty()) return std::nullopt;
  if (error = check_directory(dir, false); !error.empty()) return std::nullopt;
  if (error = check_parent(dir); !error.empty()) return std::nullopt;
  if (error = check_ours(dir); !error.empty()) return std::nullopt;
  state_dir claimed{dir};
  const std::string lock_path = claimed.file(lock_leaf);
  claimed.lock_.reset(
      ::open(lock_path.c_str(),
             O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
  if (!claimed.lock_) {
    error = "cannot open " + lock_path + ": " + errno_text(errno);
    return std::nullopt;
  }
  if (::flock(claimed.lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    error = errno == EWOULDBLOCK
                ? "another vitrine run uses the state directory " + dir +
                      " (a second run needs a --state-dir of its own)"
                : "cannot lock " + lock_path + ": " + errno_text(errno);
    return std::nullopt;
  }
  // The marker, then who holds the lock (informational: the lock is the
  // truth). Written over the old content, then cut to size, so that the
  // marker is never missing from a marked file.
  const std::string content =
      std::string{state_marker} + std::to_string(::getpid()) + "\n";
  if (::pwrite(claimed.lock_.get(), content.data(), content.size(), 0) ==
      ssize_t(content.size()))
    (void)!::ftruncate(claimed.lock_.get(), off_t(content.size()));
  return claimed;
}

std::optional<state_dir> state_dir::open_existing(const std::string& option,
                                                  std::string& error) {
  std::string dir;
  if (!option.empty()) {
    dir = absolute_path(option);
  } else {
    const std::string base = default_state_base();
    const auto names = instances_under(base);
    std::vector<std::string> live;
    for (const auto& name : names)
      if (locked_by_someone(base + "/" + name + "/" + std::string{lock_leaf}))
        live.push_back(name);
    const auto& candidates = live.empty() ? names : live;
    if (candidates.empty()) {
      error = "no vitrine run found under " + base +
              " (start one with `vitrine run FILE`, or pass --state-dir)";
      return std::nullopt;
    }
    if (candidates.size() > 1) {
      // State directories stay after a run ends (`vitrine logs` reads
      // them), so stopped instances pile up: say that none is live.
      error = live.empty() ? "no live vitrine run under " + base +
                                 ", but the state directories of several "
                                 "stopped ones:"
                           : "several live vitrine runs under " + base + ":";
      for (const auto& name : candidates) error += " " + name;
      error += " (pass --state-dir DIR to choose one)";
      return std::nullopt;
    }
    dir = base + "/" + candidates.front();
  }
  if (struct stat st{}; ::lstat(dir.c_str(), &st) != 0 && errno == ENOENT) {
    error = "no vitrine state directory at " + dir +
            " (is `vitrine run` running with this --state-dir?)";
    return std::nullopt;
  }
  if (error = check_directory(dir, true); !error.empty()) return std::nullopt;
  // Not /etc, say: a directory no run marked is no stopped run's either.
  const std::string foreign = foreign_entry(dir, error);
  if (!error.empty()) return std::nullopt;
  if (!foreign.empty()) {
    error = dir +
            " is not a vitrine state directory (no run marked it: it "
            "has no lock file of vitrine's, and holds '" +
            foreign + "'; pass the --state-dir of a `vitrine run`)";
    return std::nullopt;
  }
  return state_dir{dir};
}

std::string state_dir::file(std::string_view leaf) const {
  return path_ + "/" + std::string{leaf};
}

bool state_dir::owner_running() const {
  return lock_ || locked_by_someone(file(lock_leaf));
}

pid_t state_dir::owner_pid() const {
  if (!owner_running()) return 0;
  const os::unique_fd fd{
      ::open(file(lock_leaf).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
  if (!fd) return 0;
  char text[64] = {};
  const ssize_t n = ::pread(fd.get(), text, sizeof text - 1, 0);
  if (n <= ssize_t(state_marker.size()) ||
      std::string_view{text, state_marker.size()} != state_marker)
    return 0;
  char* end = nullptr;
  const long pid = std::strtol(text + state_marker.size(), &end, 10);
  return pid > 0 && pid <= INT_MAX && *end == '\n' ? static_cast<pid_t>(pid)
                                                   : 0;
}

bool process_stopped(pid_t pid) {
  if (pid <= 0) return false;
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const os::unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) return false;
  char buffer[1024];
  const ssize_t n = ::read(fd.get(), buffer, sizeof buffer - 1);
  if (n <= 0) return false;
  // The command name (field 2) may hold spaces and ')': the state (field
  // 3) follows the last ')'.
  const std::string_view text{buffer, static_cast<std::size_t>(n)};
  const auto close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) return false;
  const char state = text[close + 2];
  return state == 'T' || state == 't';
}

}  // namespace vitrine::cli
