// A process_spec on the wire, both ways, and the node's supervise gate and
// worker (remote_spec.hpp).
#include "remote_spec.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

#include "vitrine/runtime.hpp"

namespace vitrine::detail {
namespace {

// Bounds on what a controller may send: far above any real spec, low
// enough that a hostile one cannot make the node build a huge one (BASP's
// own frame limit, serve_options::max_message_bytes, comes first).
constexpr std::size_t max_list = 4096;         // argv, env entries
constexpr std::size_t max_exit_codes = 256;    // 0..255, each once
constexpr std::size_t max_rlimits = 64;        // RLIMIT_NLIMITS is 16
constexpr std::size_t max_string = 64 * 1024;  // one argument or value
constexpr std::size_t max_path = 4096;         // PATH_MAX

using ms = std::chrono::milliseconds;

wire_stdio stdio_to_wire(const os::stdio_target& t) {
  return {static_cast<std::uint8_t>(t.mode), t.path};
}

os::stdio_target stdio_from_wire(const wire_stdio& w) {
  return {static_cast<os::stdio_target::kind>(w.mode), w.path};
}

class wire_checker {
 public:
  /// Fields are named as validate() names them: "NAME.field".
  wire_checker(std::vector<spec_problem>& out, std::string_view name)
      : out_(out), prefix_(spec_field_prefix(name)) {}

  void add(const std::string& field, std::string message) {
    out_.push_back({prefix_ + field, std::move(message)});
  }
  void count(const char* field, std::size_t n, std::size_t limit) {
    if (n > limit)
      add(field, "has " + std::to_string(n) + " entries; the limit is " +
                     std::to_string(limit));
  }
  void length(const std::string& field, const std::string& s,
              std::size_t limit) {
    if (s.size() > limit)
      add(field, "is " + std::to_string(s.size()) +
                     " bytes long; the limit is " + std::to_string(limit));
  }
  void stdio(const char* field, const wire_stdio& w) {
    if (w.mode > static_cast<std::uint8_t>(os::stdio_target::kind::capture))
      add(field, "unknown mode " + std::to_string(w.mode));
    length(std::string{field} + ".path", w.path, max_path);
  }

 private:
  std::vector<spec_problem>& out_;
  std::string prefix_;
};

}  // namespace

std::vector<spec_problem> spec_to_wire(const process_spec& spec,
                                       wire_spec& out) {
  std::vector<spec_problem> refused;
  const auto& l = spec.launch;
  // Node-local state a node's process actor records (its cgroup was
  // killed): it describes the controller's machine, not the node's.
  if (l.cgroup_killed)
    refused.push_back(
        {spec_field_prefix(spec.name) + "launch.cgroup_killed",
         "cannot cross to a node: it records this machine's cgroup state"});
  if (!refused.empty()) return refused;
  out = wire_spec{};
  out.name = spec.name;
  out.argv = l.argv;
  out.inherit_env = l.inherit_env;
  for (const auto& [key, value] : l.env) {
    out.env_keys.push_back(key);
    out.env_values.push_back(value);
  }
  out.cwd = l.cwd;
  out.has_umask = l.umask.has_value();
  out.umask = l.umask.value_or(0);
  for (const auto& r : l.rlimits) {
    out.rlimit_resources.push_back(r.resource);
    out.rlimit_soft.push_back(r.soft);
    out.rlimit_hard.push_back(r.hard);
  }
  out.stdin_target = stdio_to_wire(l.stdin_target);
  out.stdout_target = stdio_to_wire(l.stdout_target);
  out.stderr_target = stdio_to_wire(l.stderr_target);
  out.death_signal = l.death_signal;
  out.notify_fd = l.notify_fd;
  out.cgroup = l.cgroup;
  out.log_max_bytes = spec.logs.max_bytes;
  out.log_backups = spec.logs.backups;
  out.restart = static_cast<std::uint8_t>(spec.restart);
  out.expected_exit_codes.assign(spec.expected_exit_codes.begin(),
                                 spec.expected_exit_codes.end());
  out.backoff_min_ms = spec.backoff.min.count();
  out.backoff_max_ms = spec.backoff.max.count();
  out.backoff_multiplier = spec.backoff.multiplier;
  out.backoff_jitter = spec.backoff.jitter;
  out.backoff_reset_after_ms = spec.backoff.reset_after.count();
  out.startsecs_ms = spec.startsecs.count();
  out.startretries = spec.startretries;
  out.restart_limit_burst = spec.restart_limit.burst;
  out.restart_limit_interval_ms = spec.restart_limit.interval.count();
  out.stop_signal = spec.stop_signal;
  out.stop_timeout_ms = spec.stop_timeout.count();
  out.autostart = spec.autostart;
  return refused;
}

std::vector<spec_problem> spec_from_wire(const wire_spec& w,
                                         process_spec& out) {
  std::vector<spec_problem> problems;
  wire_checker check{problems, w.name};
  check.length("name", w.name, max_string);
  check.count("launch.argv", w.argv.size(), max_list);
  for (std::size_t i = 0; i < w.argv.size() && i < max_list; ++i)
    check.length("launch.argv[" + std::to_string(i) + "]", w.argv[i],
                 max_string);
  check.count("launch.env", w.env_keys.size(), max_list);
  if (w.env_keys.size() != w.env_values.size())
    check.add("launch.env", "keys and values differ in number");
  for (std::size_t i = 0; i < w.env_keys.size() && i < max_list; ++i) {
    check.length("launch.env[" + std::to_string(i) + "].key", w.env_keys[i],
                 max_string);
    if (i < w.env_values.size())
      check.length("launch.env[" + std::to_string(i) + "].value",
                   w.env_values[i], max_string);
  }
  check.length("launch.cwd", w.cwd, max_path);
  check.length("launch.cgroup", w.cgroup, max_path);
  check.count("launch.rlimits", w.rlimit_resources.size(), max_rlimits);
  if (w.rlimit_soft.size() != w.rlimit_resources.size() ||
      w.rlimit_hard.size() != w.rlimit_resources.size())
    check.add("launch.rlimits", "resources and limits differ in number");
  check.stdio("launch.stdin", w.stdin_target);
  check.stdio("launch.stdout", w.stdout_target);
  check.stdio("launch.stderr", w.stderr_target);
  if (w.has_umask && w.umask > 0777)
    check.add("launch.umask", "must be between 0 and 0777");
  if (w.restart > static_cast<std::uint8_t>(restart_policy::temporary))
    check.add("restart", "must be permanent, transient or temporary");
  check.count("expected_exit_codes", w.expected_exit_codes.size(),
              max_exit_codes);
  if (!problems.empty()) return problems;

  out = process_spec{};
  out.name = w.name;
  auto& l = out.launch;
  l.argv = w.argv;
  l.inherit_env = w.inherit_env;
  for (std::size_t i = 0; i < w.env_keys.size(); ++i)
    l.env.emplace_back(w.env_keys[i], w.env_values[i]);
  l.cwd = w.cwd;
  if (w.has_umask) l.umask = static_cast<mode_t>(w.umask);
  for (std::size_t i = 0; i < w.rlimit_resources.size(); ++i)
    l.rlimits.push_back({w.rlimit_resources[i],
                         static_cast<rlim_t>(w.rlimit_soft[i]),
                         static_cast<rlim_t>(w.rlimit_hard[i])});
  l.stdin_target = stdio_from_wire(w.stdin_target);
  l.stdout_target = stdio_from_wire(w.stdout_target);
  l.stderr_target = stdio_from_wire(w.stderr_target);
  l.death_signal = w.death_signal;
  l.notify_fd = w.notify_fd;
  l.cgroup = w.cgroup;
  out.logs = {w.log_max_bytes, w.log_backups};
  out.restart = static_cast<restart_policy>(w.restart);
  out.expected_exit_codes.assign(w.expected_exit_codes.begin(),
                                 w.expected_exit_codes.end());
  out.backoff = {ms{w.backoff_min_ms}, ms{w.backoff_max_ms},
                 w.backoff_multiplier, w.backoff_jitter,
                 ms{w.backoff_reset_after_ms}};
  out.startsecs = ms{w.startsecs_ms};
  out.startretries = w.startretries;
  out.restart_limit = {w.restart_limit_burst, ms{w.restart_limit_interval_ms}};
  out.stop_signal = w.stop_signal;
  out.stop_timeout = ms{w.stop_timeout_ms};
  out.autostart = w.autostart;
  return problems;
}

void supervise_gate::open(runtime& rt) {
  std::lock_guard lock{mutex_};
  if (!closed_) runtime_ = &rt;
}

void supervise_gate::close() {
  std::unique_lock lock{mutex_};
  runtime_ = nullptr;
  closed_ = true;
  idle_.wait(lock, [this] { return inside_ == 0; });
}

std::string supervise_gate::supervise(process_spec spec,
                                      std::vector<spec_problem>& problems) {
  runtime* rt = nullptr;
  {
    std::lock_guard lock{mutex_};
    if (!runtime_) return "the node is shutting down";
    rt = runtime_;
    ++inside_;
  }
  std::string failure;
  try {
    rt->supervise(std::move(spec));
  } catch (const spec_error& e) {
    problems = e.problems();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  {
    std::lock_guard lock{mutex_};
    --inside_;
  }
  idle_.notify_all();
  return failure;
}

caf::behavior supervise_worker(caf::event_based_actor* self,
                               std::shared_ptr<supervise_gate> gate) {
  return {
      [self, gate](r_sup_atom, const wire_spec& w)
          -> std::tuple<std::vector<std::string>, std::vector<std::string>,
                        std::string> {
        self->quit();
        std::vector<spec_problem> problems;
        process_spec spec;
        std::string failure;
        problems = spec_from_wire(w, spec);
        if (problems.empty())
          failure = gate->supervise(std::move(spec), problems);
        std::vector<std::string> fields, messages;
        for (auto& p : problems) {
          fields.push_back(std::move(p.field));
          messages.push_back(std::move(p.message));
        }
        return {std::move(fields), std::move(messages), std::move(failure)};
      },
  };
}

}  // namespace vitrine::detail
