#include "status.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "status_json.hpp"
#include "text_escape.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::cli {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::int64_t clock_pair::unix_ms(
    std::chrono::steady_clock::time_point t) const noexcept {
  const auto at = wall - (steady - t);
  return duration_cast<milliseconds>(at.time_since_epoch()).count();
}

std::int64_t clock_pair::unix_ms() const noexcept {
  return duration_cast<milliseconds>(wall.time_since_epoch()).count();
}

status_row make_row(const core::process_state& state, const clock_pair& now) {
  status_row row;
  row.name = std::string{state.name()};
  row.status = std::string{core::to_string(state.status)};
  row.pid = state.pid;
  row.version = state.version;
  row.restarts = state.restart_count;
  row.exit_kind = std::string{core::to_string(state.last_exit.how)};
  row.exit_value = state.last_exit.value;
  row.last_exit = core::describe(state.last_exit);
  if (state.started_at != core::process_state::clock::time_point{})
    row.started_at_ms = now.unix_ms(state.started_at);
  row.spawn_error = std::string{state.spawn_error()};
  return row;
}

supervisor_row make_supervisor_row(const core::supervisor_state& state) {
  supervisor_row row;
  row.name = std::string{state.name()};
  row.status = std::string{core::to_string(state.status)};
  row.version = state.version;
  row.restarts = state.restarts;
  row.children = state.child_count;
  if (const auto& f = state.last_failure) {
    row.failed_child = f->child;
    row.failed_exit = f->exit;
    row.failed_restarts = f->restarts_in_window;
    row.failed_intensity = f->intensity;
    row.failed_period_ms = f->period.count();
    row.failure = f->describe();
  }
  return row;
}

std::string render_supervisor(const supervisor_row& row) {
  std::string text = "supervisor " + row.name + ": " + row.status +
                     ", restarts " + std::to_string(row.restarts) + ", " +
                     std::to_string(row.children) +
                     (row.children == 1 ? " child" : " children");
  if (!row.failure.empty())
    text += (row.status == "failed" ? "; failed: " : "; last failure: ") +
            row.failure;
  return terminal_safe(text);  // the row may come from a status file
}

std::optional<milliseconds> uptime(const status_row& row,
                                   std::int64_t now_unix_ms) {
  if (row.pid == 0 || row.started_at_ms == 0) return std::nullopt;
  return milliseconds{
      std::max<std::int64_t>(0, now_unix_ms - row.started_at_ms)};
}

nlohmann::ordered_json process_json(const status_row& row,
                                    std::int64_t now_unix_ms) {
  nlohmann::ordered_json item;
  item["name"] = row.name;
  item["status"] = row.status;
  item["pid"] = row.pid;
  item["version"] = row.version;
  item["restarts"] = row.restarts;
  item["last_exit"] = {{"kind", row.exit_kind},
                       {"value", row.exit_value},
                       {"text", row.last_exit}};
  item["started_at_unix_ms"] = row.started_at_ms;
  const auto up = uptime(row, now_unix_ms);
  item["uptime_ms"] = up ? up->count() : 0;
  item["spawn_error"] = row.spawn_error;
  return item;
}

std::string to_json(const std::vector<status_row>& rows,
                    std::int64_t now_unix_ms,
                    const std::vector<supervisor_row>& supervisors) {
  auto sups = nlohmann::ordered_json::array();
  for (const auto& row : supervisors) {
    nlohmann::ordered_json item;
    item["name"] = row.name;
    item["status"] = row.status;
    item["version"] = row.version;
    item["restarts"] = row.restarts;
    item["children"] = row.children;
    if (row.failed_child.empty()) {
      item["last_failure"] = nullptr;
    } else {
      item["last_failure"] = {{"child", row.failed_child},
                              {"exit", row.failed_exit},
                              {"restarts", row.failed_restarts},
                              {"intensity", row.failed_intensity},
                              {"period_ms", row.failed_period_ms},
                              {"text", row.failure}};
    }
    sups.push_back(std::move(item));
  }
  auto array = nlohmann::ordered_json::array();
  for (const auto& row : rows) array.push_back(process_json(row, now_unix_ms));
  nlohmann::ordered_json doc;
  doc["supervisors"] = std::move(sups);
  doc["processes"] = std::move(array);
  return doc.dump(2) + "\n";
}

namespace {

/// Reads one entry of a status file's process list into `row`; "" or what
/// is wrong with it ("'pid' is not an integer in 0..2147483647").
std::string read_row(const nlohmann::json& item, status_row& row) {
  if (!item.is_object()) return "is not a JSON object";
  std::string problem;
  // A present field must have its type; absent ones keep their default
  // (files of older versions lack some), except name and status.
  auto text_of = [&](const nlohmann::json& o, const char* key, std::string& out,
                     bool required) {
    const auto it = o.find(key);
    if (it == o.end()) {
      if (required && problem.empty())
        problem = "'" + std::string{key} + "' is missing";
    } else if (it->is_string()) {
      out = it->get<std::string>();
    } else if (problem.empty()) {
      problem = "'" + std::string{key} + "' is not a string";
    }
  };
  auto number_of = [&](const nlohmann::json& o, const char* key, auto& out) {
    using number = std::remove_reference_t<decltype(out)>;
    const auto it = o.find(key);
    if (it == o.end()) return;
    const bool fits =
        it->is_number_unsigned()
            ? it->template get<std::uint64_t>() <=
                  static_cast<std::uint64_t>(std::numeric_limits<number>::max())
            : it->is_number_integer() &&
                  it->template get<std::int64_t>() >=
                      static_cast<std::int64_t>(
                          std::numeric_limits<number>::min());
    if (fits) {
      out = it->template get<number>();
    } else if (problem.empty()) {
      problem = "'" + std::string{key} + "' is not an integer in " +
                std::to_string(std::numeric_limits<number>::min()) + ".." +
                std::to_string(std::numeric_limits<number>::max());
    }
  };
  text_of(item, "name", row.name, true);
  text_of(item, "status", row.status, true);
  text_of(item, "spawn_error", row.spawn_error, false);
  number_of(item, "pid", row.pid);
  number_of(item, "version", row.version);
  number_of(item, "restarts", row.restarts);
  number_of(item, "started_at_unix_ms", row.started_at_ms);
  if (const auto it = item.find("last_exit"); it != item.end()) {
    if (!it->is_object()) return "'last_exit' is not a JSON object";
    text_of(*it, "text", row.last_exit, false);
    text_of(*it, "kind", row.exit_kind, false);
    number_of(*it, "value", row.exit_value);
  }
  if (!problem.empty()) return problem;
  if (row.name.empty()) return "'name' is empty";
  if (row.pid < 0) return "'pid' is negative";
  bool known = false;
  for (auto s = core::process_status::stopped;
       s <= core::process_status::unknown;
       s = static_cast<core::process_status>(static_cast<int>(s) + 1))
    known = known || core::to_string(s) == row.status;
  if (!known) return "'status' is not a process status: '" + row.status + "'";
  return {};
}

}  // namespace

std::optional<std::vector<status_row>> rows_from_json(std::string_view text,
                                                      std::string& error) {
  // Parse without exceptions; then read each field with a type check.
  const auto parsed = nlohmann::json::parse(text, nullptr, false);
  const nlohmann::json* list = &parsed;  // the older format: a bare array
  if (parsed.is_object())
    if (auto it = parsed.find("processes"); it != parsed.end()) list = &*it;
  if (parsed.is_discarded() || !list->is_array()) {
    error = "not a vitrine status (an object with a 'processes' array)";
    return std::nullopt;
  }
  std::vector<status_row> rows;
  rows.reserve(list->size());
  for (const auto& item : *list) {
    const std::string problem = read_row(item, rows.emplace_back());
    if (!problem.empty()) {
      error = "processes[" + std::to_string(rows.size() - 1) + "]: " + problem;
      return std::nullopt;
    }
  }
  return rows;
}

std::optional<std::vector<supervisor_row>> supervisors_from_json(
    std::string_view text, std::string& error) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !(doc.is_object() || doc.is_array())) {
    error = "not a vitrine status (an object with a 'processes' array)";
    return std::nullopt;
  }
  std::vector<supervisor_row> rows;
  if (doc.is_array()) return rows;  // the older format had none
  const auto list = doc.find("supervisors");
  if (list == doc.end()) return rows;
  if (!list->is_array()) {
    error = "'supervisors' is not an array";
    return std::nullopt;
  }
  for (const auto& item : *list) {
    if (!item.is_object()) {
      error = "a supervisor entry is not a JSON object";
      return std::nullopt;
    }
    auto text_of = [](const nlohmann::json& o, const char* key,
                      std::string& out) {
      if (auto it = o.find(key); it != o.end() && it->is_string())
        out = it->get<std::string>();
    };
    auto number_of = [](const nlohmann::json& o, const char* key, auto& out) {
      if (auto it = o.find(key); it != o.end() && it->is_number_integer())
        out = it->get<std::remove_reference_t<decltype(out)>>();
    };
    supervisor_row row;
    text_of(item, "name", row.name);
    text_of(item, "status", row.status);
    number_of(item, "version", row.version);
    number_of(item, "restarts", row.restarts);
    number_of(item, "children", row.children);
    if (auto f = item.find("last_failure"); f != item.end() && f->is_object()) {
      text_of(*f, "child", row.failed_child);
      text_of(*f, "exit", row.failed_exit);
      number_of(*f, "restarts", row.failed_restarts);
      number_of(*f, "intensity", row.failed_intensity);
      number_of(*f, "period_ms", row.failed_period_ms);
      text_of(*f, "text", row.failure);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

/// The PID of `name` if it is `prefix` then a PID, then '.' or the end.
std::optional<pid_t> pid_after(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  const auto digits = name.substr(0, name.find('.'));
  pid_t pid = 0;
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc{} || end != digits.data() + digits.size() || pid <= 0)
    return std::nullopt;
  return pid;
}

}  // namespace

void remove_stale_temporaries(const std::string& path) {
  // dirent, not std::filesystem: the `vitrine` front links this file and
  // keeps out what it does not need (docs/cli.md, "Binaries").
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const std::string base =
      slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) return;
  DIR* listing = ::opendir(dir.c_str());
  if (listing == nullptr) return;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string_view name{entry->d_name};
    auto pid = pid_after(name, base + ".tmp.");
    if (!pid) pid = pid_after(name, base + ".probe.");
    if (!pid || ::kill(*pid, 0) == 0 || errno != ESRCH) continue;
    struct stat st {};
    if (::fstatat(::dirfd(listing), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
            0 &&
        S_ISREG(st.st_mode) && st.st_uid == ::geteuid())
      ::unlinkat(::dirfd(listing), entry->d_name, 0);
  }
  ::closedir(listing);
}

std::string write_file_atomic(const std::string& path, std::string_view content,
                              mode_t mode) {
  // A fresh name each time, created with O_EXCL: whatever someone put at a
  // predictable name beside `path` (a FIFO, a link, a file of theirs) is
  // never opened, so this cannot block nor write into it.
  static std::atomic<std::uint32_t> sequence{0};
  std::string temp;
  os::unique_fd fd;
  for (int attempt = 0; !fd && attempt < 16; ++attempt) {
    temp = path + ".tmp." + std::to_string(::getpid()) + "." +
           std::to_string(sequence.fetch_add(1, std::memory_order_relaxed));
    fd.reset(::open(temp.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode));
    if (!fd && errno != EEXIST) break;
  }
  if (!fd) return "cannot create " + temp + ": " + std::strerror(errno);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n =
        ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::unlink(temp.c_str());
      return "cannot write " + temp + ": " + std::strerror(saved);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd.release()) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    return "cannot replace " + path + ": " + std::strerror(saved);
  }
  return {};
}

}  // namespace vitrine::cli
