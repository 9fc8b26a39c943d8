#include "regular_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace vitrine::cli {
namespace {

/// The kind of a non-regular file, for the error message.
std::string_view file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string kind_error(mode_t mode) {
  return "is " + std::string{file_kind(mode)} + ", not a regular file";
}

std::string size_error(std::uint64_t size, std::uint64_t limit) {
  return "is " + std::to_string(size) + " bytes, above the limit of " +
         std::to_string(limit) + " bytes (" + std::to_string(limit >> 20) +
         " MiB)";
}

}  // namespace

std::string read_regular_file(const std::string& path, std::uint64_t limit,
                              std::string& text) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return "cannot be opened: " + std::string{std::strerror(errno)};
  struct stat st {};
  std::string error;
  if (::fstat(fd, &st) != 0) {
    error = "cannot be read: " + std::string{std::strerror(errno)};
  } else if (!S_ISREG(st.st_mode)) {
    error = kind_error(st.st_mode);
  } else if (static_cast<std::uint64_t>(st.st_size) > limit) {
    error = size_error(static_cast<std::uint64_t>(st.st_size), limit);
  } else {
    // One byte more than the limit tells a file that grew past it.
    text.resize(static_cast<std::size_t>(st.st_size) + 1);
    std::size_t done = 0;
    for (;;) {
      if (done == text.size()) {
        if (text.size() > limit) {
          error = size_error(text.size(), limit);
          break;
        }
        text.resize(std::min<std::size_t>(text.size() * 2, limit + 1));
      }
      const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = "cannot be read: " + std::string{std::strerror(errno)};
        break;
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    text.resize(done);
  }
  ::close(fd);
  return error;
}

std::string existing_non_regular(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return {};
  return kind_error(st.st_mode);
}

}  // namespace vitrine::cli
