#include "exec_beside.hpp"

#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "print_line.hpp"

namespace vitrine::cli {

int exec_beside(const char* program, char** argv) {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    print_error({"cannot find its own executable: ", std::strerror(errno)});
    return 1;
  }
  std::string path{self, static_cast<std::size_t>(n)};
  path = path.substr(0, path.rfind('/') + 1) + program;
  ::execv(path.c_str(), argv);
  print_error({"cannot run ", path, ": ", std::strerror(errno),
               " (it must be installed beside vitrine)"});
  return 1;
}

}  // namespace vitrine::cli
