// toml_reader: typed, diagnosing access to one TOML table, for config.cpp.
// Internal to the CLI.
//
// Every getter returns nullopt (and records a diagnostic) when the key is
// present with a wrong type or an out-of-range value, and nullopt without a
// diagnostic when the key is absent: callers keep their default then.
// Threads: one reader per thread. Cost: a map lookup per key.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace vitrine::cli::detail {

/// The longest duration a `_ms` key takes: 24 hours, what
/// vitrine::validate() accepts.
inline constexpr std::int64_t max_millis = std::int64_t{24} * 3600 * 1000;

struct location {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

location where(const toml::source_region& region) noexcept;
std::string_view type_name(toml::node_type type) noexcept;

/// Collects diagnostics for one file: problems, which refuse it, and
/// warnings, which do not.
class problem_sink {
 public:
  explicit problem_sink(std::string file) : file_(std::move(file)) {}
  void add(location at, std::string key, std::string message);
  void warn(location at, std::string key, std::string message);
  std::vector<diagnostic> take() { return std::move(problems_); }
  std::vector<diagnostic> take_warnings() { return std::move(warnings_); }
  const std::vector<diagnostic>& problems() const noexcept { return problems_; }
  std::size_t size() const noexcept { return problems_.size(); }
  bool empty() const noexcept { return problems_.empty(); }

 private:
  std::string file_;
  std::vector<diagnostic> problems_;
  std::vector<diagnostic> warnings_;
};

class table_reader {
 public:
  /// `path` names the table in diagnostics, e.g. "program[web]"; "" for the
  /// document root.
  table_reader(const toml::table& table, std::string path, location at,
               problem_sink& out)
      : table_(table), path_(std::move(path)), at_(at), out_(out) {}

  /// Reports every key not in `allowed` (suggesting the closest one).
  void allow_only(std::initializer_list<std::string_view> allowed);

  const toml::node* find(std::string_view key) const;
  /// Where `key` is written (its key token), or the table when absent.
  location key_location(std::string_view key) const;
  location table_location() const noexcept { return at_; }
  /// "program[web].key" (or "key" at the root).
  std::string qualified(std::string_view key) const;
  const std::string& path() const noexcept { return path_; }
  const toml::table& table() const noexcept { return table_; }

  /// A reader of `table`, the value of `key` here, with the same sink.
  table_reader nested(std::string_view key, const toml::table& table) const {
    return {table, qualified(key), where(table.source()), out_};
  }

  void error(std::string_view key, std::string message);
  /// Something that works, but likely not as the user meant.
  void warning(std::string_view key, std::string message);
  /// A problem of the table itself, at its header.
  void table_error(std::string message);
  void wrong_type(std::string_view key, const toml::node& value,
                  std::string_view expected);

  std::optional<std::string> get_string(std::string_view key);
  std::optional<bool> get_bool(std::string_view key);
  std::optional<std::int64_t> get_int(std::string_view key, std::int64_t min,
                                      std::int64_t max);
  /// An integer or a float.
  std::optional<double> get_number(std::string_view key);
  /// An integer count of milliseconds between `min` and max_millis.
  std::optional<std::chrono::milliseconds> get_millis(std::string_view key,
                                                      std::int64_t min = 0);
  /// "TERM", "SIGTERM" or 1..SIGRTMAX.
  std::optional<int> get_signal(std::string_view key);
  /// One of `names`; returns its index.
  std::optional<std::size_t> get_choice(
      std::string_view key, std::initializer_list<std::string_view> names);
  /// A table, or nullptr (reporting a wrong type).
  const toml::table* get_table(std::string_view key);
  /// An array of tables (a TOML `[[key]]`), or nullptr.
  const toml::array* get_table_array(std::string_view key);

 private:
  const toml::table& table_;
  std::string path_;
  location at_;
  problem_sink& out_;
};

/// The closest of `candidates` to `word` if it is close enough, else "".
std::string_view closest(std::string_view word,
                         std::initializer_list<std::string_view> candidates);

}  // namespace vitrine::cli::detail
