// The owner's side of the status table file (status_mapping.hpp): it is
// created beside its path and moved there without replacing anything but
// the table of an owner that is gone; the owner holds an exclusive flock on
// it for its whole life (how the next owner tells a live table from a
// stale one: the kernel drops the lock when the owner dies, SIGKILL
// included); and it is removed at the end only while it is still the file
// at that path.
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>

#include "truncation_rescue.hpp"
#include "vitrine/os/status_mapping.hpp"

namespace vitrine::os {
namespace st = core::status_table;
namespace {

[[noreturn]] void fail(int error, const std::string& path,
                       const std::string& what) {
  throw std::system_error(error, std::generic_category(),
                          "status table " + path + ": " + what);
}

/// `path` made absolute against the working directory now, so that a host
/// that changes directory later still removes the right file.
std::string absolute(const std::string& path) {
  if (path.empty()) fail(EINVAL, "\"\"", "an empty path");
  if (path.starts_with('/')) return path;
  const std::unique_ptr<char, decltype(&std::free)> cwd{::getcwd(nullptr, 0),
                                                        &std::free};
  if (!cwd) fail(errno, path, "cannot read the working directory");
  return std::string{cwd.get()} + "/" + path;
}

/// Extends the file to `to` bytes with its blocks allocated from `from` on:
/// a page of a shared mapping that the file system cannot back (a full
/// disk or tmpfs) raises SIGBUS when written, where ftruncate(2) alone
/// leaves a hole; posix_fallocate(3) says ENOSPC instead.
void allocate(int fd, std::uint64_t from, std::uint64_t to,
              const std::string& path) {
  if (const int error = ::posix_fallocate(fd, static_cast<off_t>(from),
                                          static_cast<off_t>(to - from));
      error != 0)
    fail(error, path,
         "cannot allocate " + std::to_string(to) + " bytes for the table");
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/// Moves `temp` to `path` unless the path holds anything but a table whose
/// owner is gone; throws (EEXIST: not a table; EBUSY: its owner lives),
/// leaving both files as they were.
void move_into_place(const std::string& temp, const std::string& path) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(),
                    RENAME_NOREPLACE) == 0)
      return;
    int error = errno;
    if (error == EINVAL || error == ENOSYS) {  // no RENAME_NOREPLACE here
      if (::link(temp.c_str(), path.c_str()) == 0) {
        ::unlink(temp.c_str());
        return;
      }
      error = errno;
    }
    if (error != EEXIST) fail(error, path, "cannot create");
    unique_fd there{
        ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)};
    if (!there && errno == ENOENT) continue;  // removed meanwhile
    if (!there && errno == ELOOP)
      fail(EEXIST, path, "is a symbolic link: not replaced");
    if (!there) fail(errno, path, "exists and cannot be opened: not replaced");
    struct stat info {};
    if (::fstat(there.get(), &info) != 0) fail(errno, path, "fstat");
    st::header h{};
    if (!S_ISREG(info.st_mode) ||
        ::pread(there.get(), &h, sizeof h, 0) != ssize_t{sizeof h} ||
        h.magic != st::magic)
      fail(EEXIST, path,
           "exists and is not a vitrine status table: not replaced");
    if (::flock(there.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) fail(errno, path, "flock");
      fail(EBUSY, path,
           "in use by a live owner (pid " + std::to_string(h.owner_pid) +
               "): each runtime needs a table of its own");
    }
    // Its owner is gone. Replace it, if it is still the file there (the
    // lock stays ours until `there` closes, after the rename).
    struct stat now {};
    if (::lstat(path.c_str(), &now) != 0 || !same_file(now, info)) continue;
    if (::rename(temp.c_str(), path.c_str()) == 0) return;
    fail(errno, path, "cannot replace the table of a gone owner");
  }
  fail(EBUSY, path, "replaced by another process while being created");
}

/// A new file of `size` bytes beside `path` (0600, a fresh name, returned
/// in `temp`), locked before anyone can open it by path, for as long as it
/// is open. Throws, leaving nothing behind.
unique_fd locked_temp_file(const std::string& path, std::uint64_t size,
                           std::string& temp) {
  temp = path + ".XXXXXX";
  unique_fd fd{::mkostemp(temp.data(), O_CLOEXEC)};
  if (!fd) fail(errno, path, "cannot create " + temp);
  try {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
      fail(errno, path, "flock " + temp);
    allocate(fd.get(), 0, size, path);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  return fd;
}

/// Whether `path` names the file `info` describes (a link to it).
bool names_file(const std::string& path, const struct stat& info) {
  struct stat there {};
  return ::lstat(path.c_str(), &there) == 0 && same_file(there, info);
}

}  // namespace

status_table_file::status_table_file(std::string path, std::uint32_t capacity,
                                     std::uint64_t heartbeat_period_ns)
    : path_(absolute(path)),
      capacity_(capacity == 0 ? 1 : capacity),
      heartbeat_period_ns_(heartbeat_period_ns) {
  const auto size = st::table_size_for(capacity_);
  std::string temp;
  fd_ = locked_temp_file(path_, size, temp);
  try {
    base_ =
        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (base_ == MAP_FAILED) {
      base_ = nullptr;
      fail(errno, path_, "mmap " + temp);
    }
    write_header();
    move_into_place(temp, path_);
    rescue_ = detail::truncation_rescue::watch(base_, size, fd_.get(), true);
  } catch (...) {
    if (base_) ::munmap(base_, size);
    base_ = nullptr;
    ::unlink(temp.c_str());
    throw;
  }
}

void status_table_file::write_header() {
  const auto start = process_start_ticks(::getpid()).value_or(0);
  const st::header h =
      st::make_header(capacity_, ::getpid(), start, heartbeat_period_ns_);
  std::memcpy(base_, &h, sizeof h);
  st::table_writer_unsafe{base_}.beat(monotonic_ns());
}

bool status_table_file::put_back() {
  const auto size = st::table_size_for(capacity_);
  std::string temp;
  try {
    unique_fd fd = locked_temp_file(path_, size, temp);
    // The table as it is, then the new file mapped in its place (the
    // caller has every slot written again: a write in between may have
    // gone to the old file).
    for (std::uint64_t done = 0; done < size;) {
      const auto n = ::pwrite(fd.get(), static_cast<const char*>(base_) + done,
                              size - done, static_cast<off_t>(done));
      if (n <= 0) fail(n < 0 ? errno : EIO, path_, "pwrite " + temp);
      done += static_cast<std::uint64_t>(n);
    }
    if (::mmap(base_, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
               fd.get(), 0) == MAP_FAILED)
      fail(errno, path_, "mmap " + temp);
    detail::truncation_rescue::unwatch(rescue_);
    rescue_ = detail::truncation_rescue::watch(base_, size, fd.get(), true);
    fd_ = std::move(fd);  // the old file's lock goes with it
    move_into_place(temp, path_);
    return true;
  } catch (const std::system_error&) {
    // Another file took the path meanwhile, a full file system, the
    // directory gone: the next heartbeat looks again.
    if (!temp.empty()) ::unlink(temp.c_str());
    return false;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

bool status_table_file::take_damage() {
  // Resized where nothing was touched since (no SIGBUS yet): shrunk, it is
  // grown back; grown (readers refuse a file larger than its table), cut
  // back. Its header overwritten: written again.
  const auto size = st::table_size_for(capacity_);
  struct stat info {};
  const bool known = ::fstat(fd_.get(), &info) == 0;
  const bool resized = known &&
                       static_cast<std::uint64_t>(info.st_size) != size &&
                       ::ftruncate(fd_.get(), static_cast<off_t>(size)) == 0;
  // Removed or renamed away (rm, a cleaner of /tmp): readers open the table
  // by path, so a file of the table goes there again once the path is
  // free (another file there, even a copy of a table, is left alone).
  struct stat there {};
  const bool put_back_now = known && !names_file(path_, info) &&
                            ::lstat(path_.c_str(), &there) != 0 &&
                            errno == ENOENT && put_back();
  const auto* h = static_cast<const st::header*>(base_);
  const bool overwritten =
      h->magic != st::magic || h->owner_pid != ::getpid() ||
      h->table_size != size || h->slot_capacity != capacity_;
  if (!detail::truncation_rescue::take_damage(rescue_) && !resized &&
      !overwritten && !put_back_now &&
      !detail::truncation_rescue::detached(rescue_))
    return false;
  // Anonymous memory in place of the file (it could not be backed: a full
  // file system): the file again, once its blocks can be allocated (else
  // the next heartbeat tries again; a third outside tester found the table
  // lost for good).
  if (detail::truncation_rescue::detached(rescue_)) {
    if (::posix_fallocate(fd_.get(), 0, static_cast<off_t>(size)) != 0 ||
        ::mmap(base_, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
               fd_.get(), 0) == MAP_FAILED)
      return false;
    detail::truncation_rescue::reattached(rescue_);
  }
  write_header();
  return true;
}

status_table_file::~status_table_file() {
  if (!base_) return;
  st::table_writer_unsafe{base_}.close();
  detail::truncation_rescue::unwatch(rescue_);
  ::munmap(base_, st::table_size_for(capacity_));
  // Only our own file: a path that names another one now is not ours to
  // remove. No other owner can take it meanwhile: we hold its lock.
  struct stat mine {
  }, there{};
  if (::fstat(fd_.get(), &mine) == 0 && ::lstat(path_.c_str(), &there) == 0 &&
      same_file(mine, there))
    ::unlink(path_.c_str());
}

void status_table_file::grow(std::uint32_t capacity) {
  if (capacity <= capacity_) return;
  const auto old_size = st::table_size_for(capacity_);
  const auto new_size = st::table_size_for(capacity);
  try {
    allocate(fd_.get(), old_size, new_size, path_);
  } catch (...) {
    // Back to the size the header describes: readers refuse a file larger
    // than its table once a growth takes too long.
    (void)!::ftruncate(fd_.get(), static_cast<off_t>(old_size));
    throw;
  }
  void* moved = ::mremap(base_, old_size, new_size, MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) fail(errno, path_, "mremap");
  base_ = moved;
  detail::truncation_rescue::moved(rescue_, base_, new_size);
  capacity_ = capacity;
  st::table_writer_unsafe{base_}.set_capacity(capacity);  // (G1)
}

}  // namespace vitrine::os
