#include "vitrine/os/status_mapping.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>

#include "truncation_rescue.hpp"

namespace vitrine::os {
namespace st = core::status_table;
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

/// How long a reader gives a growth in progress (the file already its new
/// size, the header not yet) before it calls the file too large.
constexpr std::chrono::milliseconds growth_patience{100};

}  // namespace

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1'000'000'000u + std::uint64_t(ts.tv_nsec);
}

namespace {

/// Field 22 of `/proc/<pid>/stat`, or nothing if the process does not
/// exist or is a zombie; `*state` gets field 3 (R, S, D, T, t...).
std::optional<std::uint64_t> read_start_and_state(pid_t pid, char* state) {
  if (pid <= 0) return std::nullopt;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  unique_fd fd{::open(path, O_RDONLY | O_CLOEXEC)};
  if (!fd) return std::nullopt;
  char buf[1024];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  // The command name (field 2) may hold spaces and ')': fields resume after
  // the last ')'.
  const std::string_view text{buf, static_cast<std::size_t>(n)};
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
  // rest: " S ppid ..." with the state as field 3 and starttime field 22.
  int field = 2;
  std::uint64_t start = 0;
  while (!rest.empty() && field < 22) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const auto end = rest.find(' ');
    const std::string_view token = rest.substr(0, end);
    ++field;
    if (field == 3) {
      if (token == "Z" || token == "X") return std::nullopt;
      *state = token.empty() ? '?' : token.front();
    }
    if (field == 22) {
      if (token.empty()) return std::nullopt;
      for (char c : token) {
        if (c < '0' || c > '9') return std::nullopt;
        start = start * 10 + std::uint64_t(c - '0');
      }
      return start;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> process_start_ticks(pid_t pid) {
  char state = '?';
  return read_start_and_state(pid, &state);
}

owner_condition owner_condition_of(const st::header_snapshot& h,
                                   std::uint64_t now_ns,
                                   unsigned stale_periods) {
  if (h.owner_closed) return owner_condition::gone;
  char state = '?';
  const auto start = read_start_and_state(h.owner_pid, &state);
  if (!start || *start != h.owner_start_ticks) return owner_condition::gone;
  if (state == 'T' || state == 't') return owner_condition::stopped;
  if (h.heartbeat_period_ns == 0) return owner_condition::alive;  // no beat
  const std::uint64_t limit = h.heartbeat_period_ns * stale_periods;
  return now_ns < h.heartbeat_ns || now_ns - h.heartbeat_ns <= limit
             ? owner_condition::alive
             : owner_condition::gone;
}

bool owner_alive(const st::header_snapshot& h, std::uint64_t now_ns,
                 unsigned stale_periods) {
  return owner_condition_of(h, now_ns, stale_periods) == owner_condition::alive;
}

// -- readers ----------------------------------------------------------------

status_mapping::status_mapping(const std::string& path) : path_(path) {
  // O_NONBLOCK: opening a FIFO for reading would wait for a writer.
  fd_.reset(
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd_ && errno == ELOOP)
    throw std::system_error(
        ELOOP, std::generic_category(),
        "status table " + path + ": is a symbolic link: refused");
  if (!fd_) throw_errno("status table " + path + ": cannot open");
  map_current();
}

void status_mapping::fail(const std::string& reason) const {
  throw std::runtime_error("status table " + path_ + ": " + reason);
}

status_mapping::~status_mapping() {
  detail::truncation_rescue::unwatch(rescue_);
  if (base_) ::munmap(const_cast<void*>(base_), size_);
}

bool status_mapping::take_damage() noexcept {
  return detail::truncation_rescue::take_damage(rescue_);
}

void status_mapping::remap() {
  map_current();
}

std::size_t status_mapping::file_size() const {
  struct stat info {};
  if (::fstat(fd_.get(), &info) != 0)
    throw_errno("status table " + path_ + ": fstat");
  if (!S_ISREG(info.st_mode)) fail("not a regular file");
  const auto size = static_cast<std::size_t>(info.st_size);
  if (size < st::header_size)
    fail(std::string{to_string(st::read_error::too_small)});
  return size;
}

std::uint64_t status_mapping::described_size() const {
  alignas(st::header) unsigned char bytes[st::header_size];
  const ssize_t got = ::pread(fd_.get(), bytes, sizeof bytes, 0);
  if (got < 0) throw_errno("status table " + path_ + ": read");
  st::table_reader check;
  if (const auto e = check.attach(bytes, static_cast<std::size_t>(got));
      e != st::read_error::none)
    fail(std::string{to_string(e)});
  st::header h;
  std::memcpy(&h, bytes, sizeof h);
  if (h.table_size < st::header_size)
    fail(std::string{to_string(st::read_error::bad_layout)});
  return h.table_size;
}

void status_mapping::map_current() {
  // The size first, then the header: the owner grows the file before its
  // header says so, never after, so a larger file is a growth in progress
  // for an instant (given growth_patience to finish) or not a table.
  const auto give_up = std::chrono::steady_clock::now() + growth_patience;
  std::size_t size = file_size();
  std::uint64_t described = described_size();
  while (size > described && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
    size = file_size();
    described = described_size();
  }
  // Refused before anything is mapped: nothing of a huge file is read.
  if (size > described)
    fail("the file has " + std::to_string(size) + " bytes, more than the " +
         std::to_string(described) + " of the table its header describes");
  // Populated: a reader reads every slot it lists, and one mmap that maps
  // the table's pages costs less than a page fault per 4 KiB page.
  void* mapped =
      ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd_.get(), 0);
  if (mapped == MAP_FAILED) throw_errno("status table " + path_ + ": mmap");
  const int rescue =
      detail::truncation_rescue::watch(mapped, size, fd_.get(), false);
  st::table_reader next;
  if (const auto e = next.attach(mapped, size); e != st::read_error::none) {
    detail::truncation_rescue::unwatch(rescue);
    ::munmap(mapped, size);
    fail(std::string{to_string(e)});
  }
  detail::truncation_rescue::unwatch(rescue_);
  if (base_) ::munmap(const_cast<void*>(base_), size_);
  base_ = mapped;
  size_ = size;
  reader_ = next;
  rescue_ = rescue;
}

}  // namespace vitrine::os
