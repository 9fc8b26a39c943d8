#include "vitrine/os/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace vitrine::os {

namespace {

// The mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo.
std::string v2_mount_point() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // ... mount-point ... - fstype source options
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, devno, root, mount;
    head >> id >> parent >> devno >> root >> mount;
    if (root == "/") return mount;
  }
  return {};
}

// Our own cgroup v2 path ("0::/path" in /proc/self/cgroup).
std::string own_v2_path() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return {};
}

int write_text(const std::string& file, const char* text) noexcept {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const auto len = std::strlen(text);
  int err = 0;
  if (::write(fd, text, len) != static_cast<ssize_t>(len)) err = errno;
  ::close(fd);
  return err;
}

// Waits until `dir` is no longer populated, at most `grace`.
void wait_unpopulated(const std::string& dir,
                      std::chrono::milliseconds grace) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  const std::string events = dir + "/cgroup.events";
  while (cgroup_populated(dir)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    // cgroup.events signals POLLPRI on every change.
    const int fd = ::open(events.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buffer[128];
    [[maybe_unused]] ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (!cgroup_populated(dir)) {
      ::close(fd);
      return;
    }
    pollfd p{fd, POLLPRI, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
    ::close(fd);
  }
}

std::atomic<unsigned> tree_counter{0};

// rmdir of `name` in `parent` after the cgroups below it, deepest first: a
// program may create cgroups of its own inside its cgroup (a nested
// vitrine run does), and a cgroup with children cannot be removed. Only
// directories are removed (a cgroup's files go with it). Returns rmdir's
// 0 or errno.
int remove_cgroup_dir(int parent, const char* name, int depth = 0) noexcept {
  constexpr int max_depth = 32;
  const int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    if (DIR* d = ::fdopendir(fd)) {
      while (dirent* entry = ::readdir(d)) {
        if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
        if (depth < max_depth)
          remove_cgroup_dir(::dirfd(d), entry->d_name, depth + 1);
      }
      ::closedir(d);  // closes fd
    } else {
      ::close(fd);
    }
  }
  return ::unlinkat(parent, name, AT_REMOVEDIR) == 0 ? 0 : errno;
}

// Kills what is left in the runtime directory `root`, waits (at most
// `grace`) for it to empty, removes the program directories (and any
// cgroups the programs made below them), then `root`.
void remove_tree(const std::string& root,
                 std::chrono::milliseconds grace) noexcept {
  cgroup_kill(root);
  wait_unpopulated(root, grace);
  remove_cgroup_dir(AT_FDCWD, root.c_str());
}

// The inode of our pid namespace (0 if unknown). Tree names carry it: a
// runtime judges only the trees of owners whose pids it sees.
std::uint64_t pid_namespace_id() noexcept {
  struct stat st {};
  if (::stat("/proc/self/ns/pid", &st) != 0) return 0;
  return st.st_ino;
}

// Reads the number at the front of `text` and drops it; false if none.
template <class Int>
bool take_number(std::string_view& text, Int& value) {
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return true;
}

bool take_literal(std::string_view& text, std::string_view literal) {
  if (text.substr(0, literal.size()) != literal) return false;
  text.remove_prefix(literal.size());
  return true;
}

struct tree_name {
  pid_t owner = 0;
  std::uint64_t pid_namespace = 0;
};

// "vitrine-<pid>-<n>-ns<pid namespace inode>", or nullopt.
std::optional<tree_name> parse_tree_name(std::string_view text) {
  tree_name name;
  unsigned n = 0;
  if (!take_literal(text, "vitrine-") || !take_number(text, name.owner) ||
      !take_literal(text, "-") || !take_number(text, n) ||
      !take_literal(text, "-ns") || !take_number(text, name.pid_namespace) ||
      !text.empty())
    return std::nullopt;
  return name;
}

// Removes the trees in `parent` whose owners died without removing them
// (killed together with their guardian): their programs are SIGKILLed
// first, since nothing supervises them any more.
void reclaim_stale_trees(const std::string& parent,
                         std::uint64_t pid_namespace) noexcept {
  if (pid_namespace == 0) return;
  DIR* d = ::opendir(parent.c_str());
  if (d == nullptr) return;
  while (dirent* entry = ::readdir(d)) {
    if (entry->d_type != DT_DIR) continue;
    const auto name = parse_tree_name(entry->d_name);
    if (!name || name->pid_namespace != pid_namespace) continue;
    if (name->owner <= 0 || name->owner == ::getpid()) continue;
    if (::kill(name->owner, 0) == 0 || errno != ESRCH) continue;  // alive
    remove_tree(parent + "/" + entry->d_name, std::chrono::milliseconds{1000});
  }
  ::closedir(d);
}

}  // namespace

int cgroup_kill(const std::string& dir) noexcept {
  return write_text(dir + "/cgroup.kill", "1");
}

bool cgroup_populated(const std::string& dir) noexcept {
  const std::string events = dir + "/cgroup.events";
  const int fd = ::open(events.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[256];
  ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (n <= 0) return false;
  buffer[n] = '\0';
  return std::strstr(buffer, "populated 1") != nullptr;
}

std::unique_ptr<cgroup_tree> cgroup_tree::detect() {
  if (const char* off = std::getenv("VITRINE_CGROUP");
      off != nullptr && std::strcmp(off, "off") == 0)
    return nullptr;
  const std::string mount = v2_mount_point();
  if (mount.empty()) return nullptr;
  std::string own = own_v2_path();
  if (own.empty() || own.front() != '/') return nullptr;
  if (own == "/") own.clear();
  const std::string parent = mount + own;
  // Moving a child needs write access to the common ancestor's procs file.
  if (::access((parent + "/cgroup.procs").c_str(), W_OK) != 0) return nullptr;
  const std::uint64_t pid_namespace = pid_namespace_id();
  reclaim_stale_trees(parent, pid_namespace);
  std::string root = parent + "/vitrine-" + std::to_string(::getpid()) + "-" +
                     std::to_string(tree_counter.fetch_add(1) + 1) + "-ns" +
                     std::to_string(pid_namespace);
  if (::mkdir(root.c_str(), 0755) != 0) return nullptr;
  if (::access((root + "/cgroup.kill").c_str(), W_OK) != 0) {
    ::rmdir(root.c_str());
    return nullptr;  // Linux < 5.14: no cgroup.kill
  }
  return std::unique_ptr<cgroup_tree>(new cgroup_tree(std::move(root)));
}

cgroup_tree::~cgroup_tree() {
  remove_tree(root_, std::chrono::milliseconds{2000});
}

std::string cgroup_tree::program_path(std::uint64_t id) const {
  return root_ + "/p" + std::to_string(id);
}

std::string cgroup_tree::create_program(std::uint64_t id) {
  std::string path = program_path(id);
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return {};
  return path;
}

unique_fd cgroup_tree::open_program_events(std::uint64_t id) const {
  return unique_fd{::open((program_path(id) + "/cgroup.events").c_str(),
                          O_RDONLY | O_CLOEXEC)};
}

int cgroup_tree::kill_program(std::uint64_t id) noexcept {
  return cgroup_kill(program_path(id));
}

int cgroup_tree::remove_program(std::uint64_t id,
                                std::chrono::milliseconds grace) noexcept {
  const std::string path = program_path(id);
  if (grace.count() > 0) wait_unpopulated(path, grace);
  return remove_cgroup_dir(AT_FDCWD, path.c_str());
}

int cgroup_tree::kill_all() noexcept {
  return cgroup_kill(root_);
}

bool cgroup_tree::program_populated(std::uint64_t id) const noexcept {
  return cgroup_populated(program_path(id));
}

std::size_t cgroup_tree::members(std::uint64_t id) const {
  std::ifstream in(program_path(id) + "/cgroup.procs");
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) ++n;
  return n;
}

}  // namespace vitrine::os
