#include "vitrine/os/program_path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

std::string search_path_for(const launch_options& o) {
  for (auto it = o.env.rbegin(); it != o.env.rend(); ++it)
    if (it->first == "PATH") return it->second;
  if (o.inherit_env) {
    if (const char* ours = std::getenv("PATH")) return ours;
  }
  return "/usr/local/bin:/usr/bin:/bin";
}

std::string script_interpreter(const std::string& path) {
  const unique_fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!file) return {};
  std::array<char, 256> head{};
  ssize_t got = 0;
  do {
    got = ::read(file.get(), head.data(), head.size());
  } while (got < 0 && errno == EINTR);
  std::string_view line{head.data(), got > 0 ? std::size_t(got) : 0};
  if (!line.starts_with("#!")) return {};
  line = line.substr(2, line.find('\n') - 2);
  const auto begin = line.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  line = line.substr(begin);
  return std::string{line.substr(0, line.find_first_of(" \t"))};
}

int resolve_program(const launch_options& o, std::string& path) {
  if (o.argv.empty() || o.argv.front().empty()) return ENOENT;
  const std::string& program = o.argv.front();
  if (program.find('/') != std::string::npos) {
    path = program;
    return 0;
  }
  const std::string search = search_path_for(o);
  int result = ENOENT;
  std::size_t begin = 0;
  while (begin <= search.size()) {
    std::size_t end = search.find(':', begin);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) {
        path = std::move(candidate);
        return 0;
      }
      result = EACCES;
    }
    begin = end + 1;
  }
  return result;
}

}  // namespace vitrine::os
