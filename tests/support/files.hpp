// Files for tests: a private temporary directory and whole-file reads.
// Shared by every test binary (library vitrine_test_support). Any thread.
#pragma once

#include <cstdint>
#include <string>

namespace vitrine::test {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents at
/// scope exit.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const noexcept { return path_; }
  /// path()/name (the file need not exist).
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

/// The whole file, or what could be read of it ("" when it cannot be
/// opened). Never throws: fit for /proc files of processes that may exit.
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
/// The size in bytes, 0 when absent.
std::uint64_t file_size(const std::string& path);

/// A tmpfs of `size` ("64k") mounted on the directory `path` for the
/// object's life (a full file system on demand). mounted() is false where
/// mounting is not allowed (not root): the test then skips.
class small_tmpfs {
 public:
  small_tmpfs(const std::string& path, const std::string& size);
  ~small_tmpfs();  ///< lazy unmount
  small_tmpfs(const small_tmpfs&) = delete;
  small_tmpfs& operator=(const small_tmpfs&) = delete;
  bool mounted() const noexcept { return error_ == 0; }
  int error() const noexcept { return error_; }  ///< errno of the mount

 private:
  std::string path_;
  int error_;
};

/// Writes zeros to a new file at `path` until its file system is full.
void fill_file_system(const std::string& path);

}  // namespace vitrine::test
