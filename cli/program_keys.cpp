#include "program_keys.hpp"

#include <sys/types.h>

#include <csignal>

#include <cstdio>
#include <filesystem>

#include "regular_file.hpp"
#include "vitrine/core/signal_names.hpp"
#include "vitrine/os/log_sink.hpp"

namespace vitrine::cli::detail {

key_locations locate_keys(const toml::table& table) {
  key_locations out;
  for (const auto& [key, value] : table) {
    out.emplace(std::string{key.str()}, where(key.source()));
    if (const auto* sub = value.as_table())
      for (const auto& [inner, ignored] : *sub)
        out.emplace(std::string{key.str()} + "." + std::string{inner.str()},
                    where(inner.source()));
  }
  return out;
}

void check_exec_string(table_reader& r, std::string_view key,
                       const std::string& what, std::size_t size) {
  if (size + 1 <= max_exec_string) return;
  r.error(key, what + " is " + std::to_string(size) +
                   " bytes, above the limit of " +
                   std::to_string(max_exec_string - 1) +
                   " bytes for one exec argument (MAX_ARG_STRLEN)");
}

void read_stop_signal(table_reader& r, process_spec& spec) {
  const auto sig = r.get_signal("stop_signal");
  if (!sig) return;
  spec.stop_signal = *sig;
  std::string_view default_action;
  switch (*sig) {
    case SIGCHLD:
    case SIGCONT:
    case SIGURG:
    case SIGWINCH:
      default_action = "ignores it";
      break;
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
      default_action = "stops (suspends) it";
      break;
    default:
      return;
  }
  r.warning("stop_signal",
            std::string{core::signal_name(*sig)} +
                " ends a program only if it handles it (the default action " +
                std::string{default_action} +
                "); otherwise every stop waits stop_timeout_ms and ends "
                "in SIGKILL");
}

void read_umask(table_reader& r, os::launch_options& launch) {
  const auto* node = r.find("umask");
  if (!node) return;
  if (const auto* s = node->as_string()) {
    const std::string& text = s->get();
    const bool octal = !text.empty() && text.size() <= 4 &&
                       text.find_first_not_of("01234567") == std::string::npos;
    const auto mode = octal ? std::stoul(text, nullptr, 8) : 0777ul + 1;
    if (mode <= 0777)
      launch.umask = static_cast<mode_t>(mode);
    else
      r.error("umask", "'" + text +
                           "' is not an octal mode between \"000\" and "
                           "\"777\" like \"022\"");
  } else if (const auto* i = node->as_integer();
             i && (i->get() < 0 || i->get() > 0777)) {
    char text[32];
    const auto v = i->get();
    const auto magnitude = v < 0 ? 0ull - static_cast<unsigned long long>(v)
                                 : static_cast<unsigned long long>(v);
    std::snprintf(text, sizeof text, "%s0o%llo", v < 0 ? "-" : "", magnitude);
    r.error("umask",
            "must be between 0o000 and 0o777 (is " + std::string{text} + ")");
  } else if (auto v = r.get_int("umask", 0, 0777)) {
    launch.umask = static_cast<mode_t>(*v);
  }
}

void read_environment(table_reader& r, os::launch_options& launch) {
  if (auto v = r.get_bool("inherit_env")) launch.inherit_env = *v;
  const auto* env = r.get_table("env");
  if (!env) return;
  auto e = r.nested("env", *env);
  for (const auto& [key, value] : *env) {
    if (auto text = e.get_string(key.str())) {
      // The kernel copies "KEY=VALUE" as one string.
      check_exec_string(e, key.str(), "the variable",
                        key.str().size() + 1 + text->size());
      launch.env.emplace_back(std::string{key.str()}, *text);
    }
  }
}

std::string key_of_field(std::string_view field, const key_locations& keys) {
  auto starts = [&](std::string_view p) { return field.starts_with(p); };
  if (starts("launch.argv") || field == "launch") return "command";
  // "launch.env.NAME" names one variable: "env.NAME", as the reader's own
  // problems about it do.
  if (starts("launch.env.")) return "env." + std::string{field.substr(11)};
  if (starts("launch.env")) return "env";
  if (starts("launch.")) {
    static constexpr std::string_view direct[] = {"cwd", "umask", "stdout",
                                                  "stderr", "notify_fd"};
    for (auto name : direct)
      if (field.substr(7) == name) return std::string{name};
    return "";
  }
  if (field == "startsecs") return "startsecs_ms";
  if (field == "stop_timeout") return "stop_timeout_ms";
  if (field == "period") return "period_ms";
  if (field == "backoff.min") return "backoff.min_ms";
  if (field == "backoff.max") return "backoff.max_ms";
  if (field == "backoff.reset_after") return "backoff.reset_after_ms";
  if (field == "restart_limit.interval") return "restart_limit.interval_ms";
  if (starts("logs.")) {
    const std::string leaf{field.substr(5)};
    return keys.contains("stderr." + leaf) && !keys.contains("stdout." + leaf)
               ? "stderr." + leaf
               : "stdout." + leaf;
  }
  return std::string{field};
}

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return (std::filesystem::path{base_dir} / path).lexically_normal().string();
}

void read_exit_codes(table_reader& r, process_spec& spec) {
  const auto* node = r.find("expected_exit_codes");
  if (!node) return;
  const auto* array = node->as_array();
  if (!array)
    return r.wrong_type("expected_exit_codes", *node, "an array of integers");
  std::vector<int> codes;
  for (const auto& element : *array) {
    const auto* code = element.as_integer();
    if (!code || code->get() < 0 || code->get() > 255)
      return r.error("expected_exit_codes",
                     "must hold integers between 0 and 255");
    codes.push_back(static_cast<int>(code->get()));
  }
  spec.expected_exit_codes = std::move(codes);
}

void read_backoff(table_reader& r, core::backoff_policy& policy) {
  const auto* table = r.get_table("backoff");
  if (!table) return;
  auto b = r.nested("backoff", *table);
  b.allow_only({"min_ms", "max_ms", "multiplier", "jitter", "reset_after_ms"});
  if (auto v = b.get_millis("min_ms")) policy.min = *v;
  if (auto v = b.get_millis("max_ms")) policy.max = *v;
  if (auto v = b.get_number("multiplier")) policy.multiplier = *v;
  if (auto v = b.get_number("jitter")) policy.jitter = *v;
  if (auto v = b.get_millis("reset_after_ms")) policy.reset_after = *v;
}

void read_restart_limit(table_reader& r, restart_limit_policy& limit) {
  const auto* table = r.get_table("restart_limit");
  if (!table) return;
  auto t = r.nested("restart_limit", *table);
  t.allow_only({"burst", "interval_ms"});
  if (auto v = t.get_int("burst", 1, 1'000'000))
    limit.burst = static_cast<unsigned>(*v);
  if (auto v = t.get_millis("interval_ms")) limit.interval = *v;
}

fleet_intensity default_top_intensity(const supervisor_spec& top) {
  const restart_limit_policy fallback;
  std::uint64_t sum = 0;
  unsigned largest = 0;
  auto period = fallback.interval;
  bool limited = false;
  // A program with no limit (interval_ms = 0) may restart without end:
  // only the most the top allows keeps it from tripping the top.
  bool unlimited = false;
  for (const auto& child : top.children) {
    unsigned burst = fallback.burst;
    const auto* p = std::get_if<process_spec>(&child);
    unlimited = unlimited || (p && !p->restart_limit.enabled());
    if (p && p->restart_limit.enabled()) {
      burst = p->restart_limit.burst;
      period = limited ? std::min(period, p->restart_limit.interval)
                       : p->restart_limit.interval;
      limited = true;
    }
    sum += burst;
    largest = std::max(largest, burst);
  }
  constexpr std::uint64_t most = 1'000'000;
  const std::uint64_t intensity =
      unlimited ? most : std::min<std::uint64_t>(sum + largest, most);
  return {static_cast<unsigned>(intensity), period};
}

void read_stdio(table_reader& r, std::string_view key, os::stdio_target& target,
                log_rotation& logs, const parse_options& options) {
  using kind = os::stdio_target::kind;
  const auto* node = r.find(key);
  if (!node) return;
  if (const auto* s = node->as_string()) {
    if (s->get() == "inherit")
      target.mode = kind::inherit;
    else if (s->get() == "null")
      target.mode = kind::null;
    else
      r.error(key, "'" + s->get() +
                       "' is not one of inherit, null (or use a table: "
                       "{ file = PATH } or { capture = PATH })");
    return;
  }
  const auto* table = node->as_table();
  if (!table)
    return r.wrong_type(key, *node, "\"inherit\", \"null\" or a table");
  auto t = r.nested(key, *table);
  t.allow_only({"file", "capture", "max_bytes", "backups"});
  const bool file = t.find("file") != nullptr;
  const bool capture = t.find("capture") != nullptr;
  if (file == capture)
    return r.error(key, "needs exactly one of 'file' or 'capture'");
  if (file && (t.find("max_bytes") || t.find("backups")))
    r.error(key, "max_bytes and backups apply to 'capture' only");
  const std::string_view path_key = file ? "file" : "capture";
  if (auto path = t.get_string(path_key); path && path->empty()) {
    // Said, and the entry's other values still checked.
    t.error(path_key,
            "needs a file path (absolute, or relative to the "
            "directory of the configuration file)");
  } else if (path) {
    target.mode = file ? kind::append_file : kind::capture;
    target.path = resolve_path(options.base_dir, *path);
    // A `file` may be a device (/dev/null) or a FIFO, not a directory; a
    // capture is rotated by rename: a regular file.
    if (options.semantic_checks)
      if (const auto problem = existing_non_regular(target.path);
          !problem.empty() &&
          (capture || std::filesystem::is_directory(target.path)))
        t.error(path_key, target.path + " " + problem);
  }
  if (auto v = t.get_int("max_bytes", 0, std::int64_t{1} << 50))
    logs.max_bytes = static_cast<std::uint64_t>(*v);
  if (auto v = t.get_int("backups", 0, 1000))
    logs.backups = static_cast<unsigned>(*v);
}

void check_shared_rotation(table_reader& r) {
  const auto* out = r.find("stdout");
  const auto* err = r.find("stderr");
  const auto* out_table = out ? out->as_table() : nullptr;
  const auto* err_table = err ? err->as_table() : nullptr;
  if (!out_table || !err_table) return;
  auto e = r.nested("stderr", *err_table);
  for (const std::string_view key : {"max_bytes", "backups"}) {
    const auto* a = out_table->get_as<std::int64_t>(key);
    const auto* b = err_table->get_as<std::int64_t>(key);
    if (!a || !b || a->get() == b->get()) continue;
    e.error(key, "is " + std::to_string(b->get()) + " but stdout." +
                     std::string{key} + " is " + std::to_string(a->get()) +
                     ": the rotation settings are one per program (set "
                     "them once, or the same in both)");
    // validate() sees one of the two: the other's range is checked here,
    // so that one round of `check` says all (an outside tester).
    if (key != "max_bytes" || a->get() < 0) continue;
    if (auto problem =
            os::rotation_size_problem(static_cast<std::uint64_t>(a->get()));
        !problem.empty())
      r.nested("stdout", *out_table).error(key, problem);
  }
}

}  // namespace vitrine::cli::detail
