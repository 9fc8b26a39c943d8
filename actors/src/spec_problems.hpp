// spec_problems: how validate() collects the problems of a spec, and the
// checks of its launch options (launch_checks.cpp). Internal.
// Threads: any (pure functions, but check_launch() looks at the file
// system: the program, the working directory, the capture directories).
// Cost: check_launch() makes a few stat(2) and a PATH search.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vitrine/os/launch.hpp"
#include "vitrine/process_spec.hpp"

namespace vitrine::detail {

class problem_list {
 public:
  explicit problem_list(std::string prefix) : prefix_(std::move(prefix)) {}
  void add(std::string_view field, std::string message) {
    problems_.push_back({prefix_ + std::string{field}, std::move(message)});
  }
  std::vector<spec_problem> take() { return std::move(problems_); }

 private:
  std::string prefix_;
  std::vector<spec_problem> problems_;
};

// A value quoted in a message: a 100 KB argv[0] is not repeated whole.
// Longer than 256 bytes: its first 128 and its length.
inline std::string shown(std::string_view value) {
  constexpr std::size_t limit = 256, kept = 128;
  if (value.size() <= limit) return std::string{value};
  return std::string{value.substr(0, kept)} + "... (" +
         std::to_string(value.size()) + " bytes)";
}

/// A signal number: 1..NSIG-1 (or 0 when `allow_zero`).
void check_signal(problem_list& out, std::string_view field, int sig,
                  bool allow_zero);

/// argv (the program can be run), argv and env sizes, cwd, umask, rlimits,
/// stdio targets, death signal and notify_fd.
void check_launch(problem_list& out, const os::launch_options& launch);

}  // namespace vitrine::detail
