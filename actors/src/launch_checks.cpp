// validate()'s checks of a process's launch options (spec_problems.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <string>

#include "spec_problems.hpp"
#include "vitrine/os/program_path.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::detail {

void check_signal(problem_list& out, std::string_view field, int sig,
                  bool allow_zero) {
  if (sig == 0 && allow_zero) return;
  if (sig <= 0 || sig >= NSIG)
    out.add(field, "is not a valid signal number: " + std::to_string(sig));
}

namespace {

// True if binfmt_misc has a handler registered: the kernel may then run
// files of other formats too, so their format is not checked.
bool binfmt_handlers_registered() {
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/sys/fs/binfmt_misc", ec)) {
    const auto name = entry.path().filename();
    if (name != "register" && name != "status") return true;
  }
  return false;
}

// Problem with the interpreter a script's #! line names, or "": execve()
// would fail with ENOENT (or EACCES) and seem to blame the script. The
// kernel opens a relative interpreter ("#!sh") from the working directory
// of the process that execs, not from PATH: the child's, `cwd` (empty: the
// runtime's, which the child inherits).
std::string interpreter_problem(const std::string& script,
                                const std::string& cwd) {
  const std::string interpreter = os::script_interpreter(script);
  if (interpreter.empty()) return {};
  const bool relative = interpreter.front() != '/';
  const std::string path =
      relative && !cwd.empty() ? cwd + "/" + interpreter : interpreter;
  const std::string where =
      " (in " + shown(script) +
      (relative
           ? std::string{"; a relative one is opened from the working "
                         "directory, "} +
                 (cwd.empty() ? std::string{"the runtime's"} : shown(cwd)) +
                 ", not looked up in PATH)"
           : std::string{")"});
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return "names a #! interpreter that does not exist: " + shown(interpreter) +
           where;
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0)
    return "names a #! interpreter that is not an executable file: " +
           shown(interpreter) + where;
  return {};
}

// Problem with the first bytes of the regular executable `path`, or "" if
// the kernel can run it: an ELF file or a `#!` script whose interpreter
// is there (an absolute path). A file we cannot read (execute-only) is
// left to the kernel.
std::string format_problem(const std::string& path, const std::string& cwd) {
  const os::unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) return {};
  char head[4] = {};
  ssize_t got = 0;
  do {
    got = ::read(fd.get(), head, sizeof head);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return {};
  const std::string_view start{head, static_cast<std::size_t>(got)};
  if (start.starts_with("#!")) return interpreter_problem(path, cwd);
  if (start == "\177ELF") return {};
  if (binfmt_handlers_registered()) return {};
  return "is neither an ELF program nor a script starting with #! (the "
         "kernel would refuse it: Exec format error): " +
         shown(path);
}

// Problem with `path` as a program, or "" if it is a regular executable.
std::string program_problem(const std::string& path, const std::string& cwd) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "does not exist: " + shown(path);
  if (S_ISDIR(st.st_mode))
    return "is a directory, not a program: " + shown(path);
  if (!S_ISREG(st.st_mode)) return "is not a regular file: " + shown(path);
  if (::access(path.c_str(), X_OK) != 0)
    return "is not executable: " + shown(path);
  return format_problem(path, cwd);
}

void check_program(problem_list& out, const os::launch_options& launch) {
  const std::string& program = launch.argv.front();
  if (program.empty())
    return out.add("launch.argv[0]", "is an empty string: it names no program");
  // Reported once, by check_strings (a PATH search for it said "no
  // executable" too: an outside tester).
  if (program.find('\0') != std::string::npos) return;
  if (program.find('/') != std::string::npos) {
    if (program.front() != '/')
      return out.add("launch.argv[0]",
                     "is a relative path (" + shown(program) +
                         "); use an absolute path or a bare name found in "
                         "PATH");
    if (auto p = program_problem(program, launch.cwd); !p.empty())
      out.add("launch.argv[0]", p);
    return;
  }
  // The very search launch() does (os/program_path.hpp).
  std::string found;
  if (os::resolve_program(launch, found) != 0)
    return out.add("launch.argv[0]",
                   "no executable '" + shown(program) + "' in PATH");
  if (auto p = format_problem(found, launch.cwd); !p.empty())
    out.add("launch.argv[0]", p);
}

void check_strings(problem_list& out, const os::launch_options& launch) {
  // As execve(2) charges them: each string with its NUL, and a pointer in
  // the argv or envp array for each (300,000 one-byte arguments are 2.4 MB
  // of pointers).
  const auto check_one = [&](const std::string& field, std::size_t size) {
    if (size <= os::max_exec_string) return;
    out.add(field, "is " + std::to_string(size) +
                       " bytes with its NUL, above the kernel's limit of " +
                       std::to_string(os::max_exec_string) +
                       " for one exec string (MAX_ARG_STRLEN)");
  };
  std::size_t total = 0;
  for (std::size_t i = 0; i < launch.argv.size(); ++i) {
    const std::string field = "launch.argv[" + std::to_string(i) + "]";
    total += launch.argv[i].size() + 1 + sizeof(char*);
    check_one(field, launch.argv[i].size() + 1);
    if (launch.argv[i].find('\0') != std::string::npos)
      out.add(field, "contains a NUL byte");
  }
  for (const auto& [key, value] : launch.env) {
    total += key.size() + value.size() + 2 + sizeof(char*);
    check_one("launch.env." + shown(key), key.size() + value.size() + 2);
    if (key.empty() || key.find('=') != std::string::npos ||
        key.find('\0') != std::string::npos)
      out.add("launch.env", "invalid variable name '" + shown(key) + "'");
    if (value.find('\0') != std::string::npos)
      out.add("launch.env." + key, "contains a NUL byte");
  }
  const long arg_max = ::sysconf(_SC_ARG_MAX);
  if (arg_max > 0 && total > static_cast<std::size_t>(arg_max) / 2)
    out.add("launch", "argv and env are " + std::to_string(total) +
                          " bytes, over half of ARG_MAX (" +
                          std::to_string(arg_max) + ")");
}

void check_stdio(problem_list& out, std::string_view field,
                 const os::stdio_target& target, bool is_stdin) {
  using kind = os::stdio_target::kind;
  if (target.mode < kind::inherit || target.mode > kind::capture)
    return out.add(
        field, "unknown kind " + std::to_string(static_cast<int>(target.mode)));
  if (target.mode != kind::append_file && target.mode != kind::capture) return;
  if (is_stdin && target.mode == kind::capture)
    return out.add(field, "stdin cannot be captured");
  if (target.path.empty() || target.path.front() != '/')
    return out.add(field, "needs an absolute file path");
  const auto slash = target.path.rfind('/');
  const std::string dir = slash == 0 ? "/" : target.path.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    out.add(field, "directory does not exist: " + dir);
}

}  // namespace

void check_launch(problem_list& out, const os::launch_options& launch) {
  if (launch.argv.empty())
    out.add("launch.argv", "must name a program (it is empty)");
  else
    check_program(out, launch);
  check_strings(out, launch);
  if (!launch.cwd.empty()) {
    struct stat st {};
    if (launch.cwd.front() != '/')
      out.add("launch.cwd", "must be an absolute path: " + launch.cwd);
    else if (::stat(launch.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      out.add("launch.cwd", "is not an existing directory: " + launch.cwd);
  }
  if (launch.umask && *launch.umask > 0777)
    out.add("launch.umask", "must be between 0 and 0777");
  for (const auto& limit : launch.rlimits) {
    if (limit.resource < 0 || limit.resource >= RLIMIT_NLIMITS)
      out.add("launch.rlimits",
              "unknown resource " + std::to_string(limit.resource));
    else if (limit.soft > limit.hard)
      out.add("launch.rlimits", "soft limit above hard limit for resource " +
                                    std::to_string(limit.resource));
  }
  check_stdio(out, "launch.stdin", launch.stdin_target, true);
  check_stdio(out, "launch.stdout", launch.stdout_target, false);
  check_stdio(out, "launch.stderr", launch.stderr_target, false);
  check_signal(out, "launch.death_signal", launch.death_signal, true);
  if (launch.notify_fd != -1 &&
      (launch.notify_fd < 3 || launch.notify_fd > 1023))
    out.add("launch.notify_fd", "must be -1 (none) or between 3 and 1023");
  // The runtime places every program (one cgroup each where it can write
  // a cgroup v2 hierarchy, docs/design.md section 8); before, a value
  // here was dropped without a word.
  if (!launch.cgroup.empty())
    out.add("launch.cgroup",
            "is set by the runtime (one cgroup per program where it can "
            "create them): leave it empty");
  if (launch.cgroup_killed)
    out.add("launch.cgroup_killed",
            "is the runtime's own record of a killed cgroup: leave it false");
}

}  // namespace vitrine::detail
