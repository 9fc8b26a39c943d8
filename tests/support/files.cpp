#include "support/files.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace vitrine::test {

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string{base && *base ? base : "/tmp"} + "/vitrine-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string temp_dir::write(const std::string& name,
                            const std::string& content) const {
  const std::string full = file(name);
  std::ofstream{full, std::ios::binary} << content;
  return full;
}

// Plain read(2), not std::ifstream: a /proc file of a process that exits
// while we read fails with ESRCH, and libstdc++'s filebuf throws on a
// failed read instead of reporting end of file.
std::string read_file(const std::string& path) {
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

std::uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

small_tmpfs::small_tmpfs(const std::string& path, const std::string& size)
    : path_(path),
      error_(::mount("tmpfs", path.c_str(), "tmpfs", 0,
                     ("size=" + size + ",mode=0700").c_str()) == 0
                 ? 0
                 : errno) {}

small_tmpfs::~small_tmpfs() {
  if (mounted()) ::umount2(path_.c_str(), MNT_DETACH);
}

void fill_file_system(const std::string& path) {
  std::ofstream out{path, std::ios::binary};
  const std::string block(4096, '\0');
  while (out.write(block.data(), block.size()) && out.flush()) {
  }
}

}  // namespace vitrine::test
