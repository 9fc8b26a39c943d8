// TEMPORARY STAND-IN for the lead's state_dir (replaced on merge).
#include "state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace vitrine::cli {
namespace {

std::string base_dir() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg)
    return std::string{xdg} + "/vitrine";
  return "/tmp/vitrine-" + std::to_string(::geteuid());
}

bool check_dir(const std::string& path, std::string& error) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  if (S_ISLNK(st.st_mode)) {
    error = path + ": is a symbolic link";
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    error = path + ": not a directory";
    return false;
  }
  if (st.st_uid != ::geteuid()) {
    error = path + ": owned by uid " + std::to_string(st.st_uid);
    return false;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    error = path + ": group or world writable";
    return false;
  }
  return true;
}

}  // namespace

std::string default_state_dir(std::string_view instance) {
  return base_dir() + "/" + std::string{instance};
}

std::optional<state_dir> state_dir::claim(const std::string& path,
                                          std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (!check_dir(path, error)) return std::nullopt;
  state_dir dir;
  dir.path_ = path;
  dir.lock_.reset(::open(dir.file(lock_leaf).c_str(),
                         O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!dir.lock_ || ::flock(dir.lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    error = path + ": in use by another vitrine run";
    return std::nullopt;
  }
  return dir;
}

std::optional<state_dir> state_dir::open_existing(const std::string& option,
                                                  std::string& error) {
  std::string path = option;
  if (path.empty()) {
    std::error_code ec;
    int found = 0;
    for (const auto& e : std::filesystem::directory_iterator{base_dir(), ec})
      if (e.is_directory()) path = e.path(), ++found;
    if (found != 1) {
      error = found ? "several instances: use --state-dir"
                    : "no vitrine instance under " + base_dir();
      return std::nullopt;
    }
  }
  if (!check_dir(path, error)) return std::nullopt;
  state_dir dir;
  dir.path_ = path;
  return dir;
}

std::string state_dir::file(std::string_view leaf) const {
  return path_ + "/" + std::string{leaf};
}

bool state_dir::owner_running() const {
  os::unique_fd fd{::open(file(lock_leaf).c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) return false;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

}  // namespace vitrine::cli
