#include "stdout_check.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vitrine::cli {

stdout_state report_stdout_error(std::string_view command, int error) {
  if (error == EPIPE) return stdout_state::reader_gone;
  std::fprintf(stderr, "vitrine: %.*s: stdout: %s\n",
               static_cast<int>(command.size()), command.data(),
               error != 0 ? std::strerror(error) : "a write failed");
  return stdout_state::failed;
}

stdout_state check_stdout(std::string_view command) {
  // A write that failed before left its errno (calls that succeed since
  // leave it alone); the flush of what is still buffered sets it afresh.
  const int earlier = errno;
  // std::cout writes through stdout (synchronised with stdio, as no
  // command turns that off): its failures set stdout's error flag too.
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int error = errno != 0 ? errno : earlier;
  if (flushed && !std::ferror(stdout)) return stdout_state::fine;
  return report_stdout_error(command, error);
}

int finish_stdout(std::string_view command, int code) {
  const bool failed = check_stdout(command) == stdout_state::failed;
  return failed && code == 0 ? 1 : code;
}

}  // namespace vitrine::cli
