#include "vitrine/process_spec.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <set>

#include "spec_names.hpp"
#include "spec_problems.hpp"
#include "vitrine/os/log_sink.hpp"

namespace vitrine {
using detail::check_launch;
using detail::check_signal;
using detail::problem_list;
using detail::shown;

namespace {

constexpr std::size_t max_name_length = 64;
constexpr auto max_duration = std::chrono::hours{24};

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
  if (spec.stop_signal == SIGSTOP)
    out.add("stop_signal",
            "is SIGSTOP, which suspends a program and cannot be handled: it "
            "never ends one, so every stop would wait for the stop timeout "
            "and end in SIGKILL (use SIGKILL to kill at once)");
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
  if (auto problem = os::rotation_size_problem(spec.logs.max_bytes);
      !problem.empty())
    out.add("logs.max_bytes", std::move(problem));
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
