#include "vitrine/process_spec.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "spec_names.hpp"
#include "vitrine/os/program_path.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine {
namespace {

constexpr std::size_t max_name_length = 64;
constexpr auto max_duration = std::chrono::hours{24};

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

bool name_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
         c == ':' || c == '@';
}

// `text` with every byte that is not printable ASCII written as \xNN, so a
// hostile name can neither cut an error message short (NUL) nor reach a
// terminal or log raw (escape sequences, newlines).
std::string printable(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  return out;
}

// A value quoted in a message: a 100 KB argv[0] is not repeated whole.
// Longer than 256 bytes: its first 128 and its length.
std::string shown(std::string_view value) {
  constexpr std::size_t limit = 256, kept = 128;
  if (value.size() <= limit) return std::string{value};
  return std::string{value.substr(0, kept)} + "... (" +
         std::to_string(value.size()) + " bytes)";
}

// A double as a person would write it ("1.5", "-0.2", "nan").
std::string shortest(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

void check_name(problem_list& out, std::string_view name) {
  if (name.empty()) return out.add("name", "must not be empty");
  if (name == detail::root_supervisor_name)
    out.add("name", "'root' is reserved for the runtime's root supervisor");
  if (name.size() > max_name_length)
    out.add("name", "is " + std::to_string(name.size()) +
                        " bytes long; the limit is " +
                        std::to_string(max_name_length));
  if (!std::all_of(name.begin(), name.end(), name_char_ok))
    out.add("name",
            "may only contain letters, digits and _ - . : @ (no spaces, "
            "control characters or non-ASCII bytes)");
}

template <class Duration>
void check_duration(problem_list& out, std::string_view field, Duration d,
                    bool allow_zero) {
  if (d.count() < 0)
    out.add(field, "must not be negative");
  else if (!allow_zero && d.count() == 0)
    out.add(field, "must be greater than 0");
  else if (d > max_duration)
    out.add(field, "is absurdly long (more than 24 hours)");
}

void check_intensity(problem_list& out, unsigned intensity,
                     supervisor_spec::duration period) {
  check_duration(out, "period", period, false);
  if (intensity > 1'000'000) out.add("intensity", "must be at most 1000000");
}

void check_signal(problem_list& out, std::string_view field, int sig,
                  bool allow_zero) {
  if (sig == 0 && allow_zero) return;
  if (sig <= 0 || sig >= NSIG)
    out.add(field, "is not a valid signal number: " + std::to_string(sig));
}

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
// would fail with ENOENT (or EACCES) and seem to blame the script.
std::string interpreter_problem(const std::string& script) {
  const std::string interpreter = os::script_interpreter(script);
  if (interpreter.empty() || interpreter.front() != '/') return {};
  struct stat st {};
  if (::stat(interpreter.c_str(), &st) != 0)
    return "names a #! interpreter that does not exist: " + shown(interpreter) +
           " (in " + shown(script) + ")";
  if (!S_ISREG(st.st_mode) || ::access(interpreter.c_str(), X_OK) != 0)
    return "names a #! interpreter that is not an executable file: " +
           shown(interpreter) + " (in " + shown(script) + ")";
  return {};
}

// Problem with the first bytes of the regular executable `path`, or "" if
// the kernel can run it: an ELF file or a `#!` script whose interpreter
// is there (an absolute path). A file we cannot read (execute-only) is
// left to the kernel.
std::string format_problem(const std::string& path) {
  const os::unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) return {};
  char head[4] = {};
  ssize_t got = 0;
  do {
    got = ::read(fd.get(), head, sizeof head);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return {};
  const std::string_view start{head, static_cast<std::size_t>(got)};
  if (start.starts_with("#!")) return interpreter_problem(path);
  if (start == "\177ELF") return {};
  if (binfmt_handlers_registered()) return {};
  return "is neither an ELF program nor a script starting with #! (the "
         "kernel would refuse it: Exec format error): " +
         shown(path);
}

// Problem with `path` as a program, or "" if it is a regular executable.
std::string program_problem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "does not exist: " + shown(path);
  if (S_ISDIR(st.st_mode))
    return "is a directory, not a program: " + shown(path);
  if (!S_ISREG(st.st_mode)) return "is not a regular file: " + shown(path);
  if (::access(path.c_str(), X_OK) != 0)
    return "is not executable: " + shown(path);
  return format_problem(path);
}

void check_program(problem_list& out, const os::launch_options& launch) {
  const std::string& program = launch.argv.front();
  if (program.empty()) return out.add("launch.argv[0]", "must not be empty");
  if (program.find('/') != std::string::npos) {
    if (program.front() != '/')
      return out.add("launch.argv[0]",
                     "is a relative path (" + shown(program) +
                         "); use an absolute path or a bare name found in "
                         "PATH");
    if (auto p = program_problem(program); !p.empty())
      out.add("launch.argv[0]", p);
    return;
  }
  // The very search launch() does (os/program_path.hpp).
  std::string found;
  if (os::resolve_program(launch, found) != 0)
    return out.add("launch.argv[0]",
                   "no executable '" + shown(program) + "' in PATH");
  if (auto p = format_problem(found); !p.empty()) out.add("launch.argv[0]", p);
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
}

// An enum set from an integer (a cast, a deserialized value) may hold none
// of its values.
void check_restart(problem_list& out, restart_policy restart) {
  if (restart > restart_policy::temporary)
    out.add("restart", "must be permanent, transient or temporary (is " +
                           std::to_string(static_cast<int>(restart)) + ")");
}

void validate_into(problem_list& out, const process_spec& spec) {
  check_name(out, spec.name);
  check_launch(out, spec.launch);
  check_restart(out, spec.restart);
  for (int code : spec.expected_exit_codes)
    if (code < 0 || code > 255)
      out.add("expected_exit_codes",
              "exit codes are 0..255, not " + std::to_string(code));
  check_duration(out, "startsecs", spec.startsecs, true);
  check_duration(out, "stop_timeout", spec.stop_timeout, false);
  check_signal(out, "stop_signal", spec.stop_signal, false);
  const auto& b = spec.backoff;
  check_duration(out, "backoff.min", b.min, true);
  check_duration(out, "backoff.max", b.max, true);
  check_duration(out, "backoff.reset_after", b.reset_after, true);
  if (b.max < b.min)
    out.add("backoff.max", "must not be below the minimum delay (" +
                               std::to_string(b.max.count()) + " ms < " +
                               std::to_string(b.min.count()) + " ms)");
  if (!(b.multiplier >= 1.0 && b.multiplier <= 100.0))
    out.add("backoff.multiplier",
            "must be between 1 and 100 (is " + shortest(b.multiplier) + ")");
  if (!(b.jitter >= 0.0 && b.jitter <= 1.0))
    out.add("backoff.jitter",
            "must be between 0 and 1 (is " + shortest(b.jitter) + ")");
  if (spec.startretries > 1000) out.add("startretries", "must be at most 1000");
  check_duration(out, "restart_limit.interval", spec.restart_limit.interval,
                 true);
  if (spec.restart_limit.enabled() &&
      (spec.restart_limit.burst < 1 || spec.restart_limit.burst > 1'000'000))
    out.add("restart_limit.burst",
            "must be between 1 and 1000000 (interval 0 disables the limit)");
  if (spec.logs.backups > 1000) out.add("logs.backups", "must be at most 1000");
}

void validate_tree(std::vector<spec_problem>& all, const supervisor_spec& spec,
                   std::set<std::string>& names) {
  problem_list out{spec_field_prefix(spec.name)};
  check_name(out, spec.name);
  check_intensity(out, spec.intensity, spec.period);
  check_restart(out, spec.restart);
  if (spec.strategy > restart_strategy::rest_for_one)
    out.add("strategy",
            "must be one_for_one, one_for_all or rest_for_one (is " +
                std::to_string(static_cast<int>(spec.strategy)) + ")");
  if (spec.parallel_start && spec.strategy != restart_strategy::one_for_one)
    out.add("parallel_start", "requires strategy one_for_one");
  if (!spec.name.empty() && !names.insert(spec.name).second)
    out.add("name", "duplicate name '" + printable(spec.name) + "'");
  for (auto& p : out.take()) all.push_back(std::move(p));
  for (const auto& child : spec.children) {
    if (const auto* process = std::get_if<process_spec>(&child)) {
      for (auto& p : validate(*process)) all.push_back(std::move(p));
      if (!process->name.empty() && !names.insert(process->name).second)
        all.push_back({spec_field_prefix(process->name) + "name",
                       "duplicate name '" + printable(process->name) + "'"});
    } else {
      validate_tree(all, std::get<supervisor_spec>(child), names);
    }
  }
}

std::string render(const std::vector<spec_problem>& problems) {
  std::string text = "invalid spec:";
  for (const auto& p : problems) text += "\n  " + p.field + ": " + p.message;
  return text;
}

}  // namespace

// A name past the length limit (itself a problem) is cut to that limit, so
// one hostile name does not fill every line it prefixes.
std::string spec_field_prefix(std::string_view name) {
  if (name.empty()) return "";
  if (name.size() <= max_name_length) return printable(name) + ".";
  return printable(name.substr(0, max_name_length)) + "....";
}

std::vector<spec_problem> validate(const process_spec& spec) {
  problem_list out{spec_field_prefix(spec.name)};
  validate_into(out, spec);
  return out.take();
}

std::vector<spec_problem> validate(const supervisor_spec& spec) {
  std::vector<spec_problem> all;
  std::set<std::string> names;
  validate_tree(all, spec, names);
  return all;
}

std::vector<spec_problem> validate_intensity(std::string_view supervisor,
                                             unsigned intensity,
                                             supervisor_spec::duration period) {
  problem_list out{spec_field_prefix(supervisor)};
  check_intensity(out, intensity, period);
  return out.take();
}

spec_error::spec_error(std::vector<spec_problem> problems)
    : std::invalid_argument(render(problems)), problems_(std::move(problems)) {}

std::string_view to_string(restart_policy p) noexcept {
  switch (p) {
    case restart_policy::permanent:
      return "permanent";
    case restart_policy::transient:
      return "transient";
    case restart_policy::temporary:
      return "temporary";
  }
  return "unknown";
}

std::string_view to_string(restart_strategy s) noexcept {
  switch (s) {
    case restart_strategy::one_for_one:
      return "one_for_one";
    case restart_strategy::one_for_all:
      return "one_for_all";
    case restart_strategy::rest_for_one:
      return "rest_for_one";
  }
  return "unknown";
}

}  // namespace vitrine
