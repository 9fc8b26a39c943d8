#include "toml_reader.hpp"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "text_escape.hpp"
#include "vitrine/core/signal_names.hpp"

namespace vitrine::cli::detail {

location where(const toml::source_region& region) noexcept {
  return {region.begin.line, region.begin.column};
}

std::string_view type_name(toml::node_type type) noexcept {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

namespace {

// A hostile file's megabyte key or value is named, not echoed whole.
diagnostic shown(const std::string& file, location at, std::string key,
                 std::string message) {
  constexpr std::size_t shown_bytes = 512;
  return {file, at.line, at.column,
          cut_for_display(std::move(key), shown_bytes),
          cut_for_display(std::move(message), shown_bytes)};
}

}  // namespace

void problem_sink::add(location at, std::string key, std::string message) {
  problems_.push_back(shown(file_, at, std::move(key), std::move(message)));
}

void problem_sink::warn(location at, std::string key, std::string message) {
  warnings_.push_back(
      shown(file_, at, std::move(key), "warning: " + std::move(message)));
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string_view closest(std::string_view word,
                         std::initializer_list<std::string_view> candidates) {
  // The key without its unit ("min" for "min_ms", "startsecs" for
  // "startsecs_ms"): too far off by edit distance, yet plainly meant.
  for (auto candidate : candidates)
    if (candidate.size() > word.size() + 1 && candidate.starts_with(word) &&
        candidate[word.size()] == '_')
      return candidate;
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (auto candidate : candidates) {
    const auto d = edit_distance(word, candidate);
    if (d < best_distance) best_distance = d, best = candidate;
  }
  // Close enough: a typo or two, not a different word.
  return best_distance <= std::max<std::size_t>(2, word.size() / 3)
             ? best
             : std::string_view{};
}

void table_reader::allow_only(std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : table_) {
    const std::string_view name = key.str();
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end())
      continue;
    std::string message = "unknown key";
    if (auto guess = closest(name, allowed); !guess.empty())
      message += " (did you mean '" + std::string{guess} + "'?)";
    out_.add(where(key.source()), qualified(name), std::move(message));
  }
}

const toml::node* table_reader::find(std::string_view key) const {
  return table_.get(key);
}

location table_reader::key_location(std::string_view key) const {
  auto it = table_.find(key);
  if (it == table_.end()) return at_;
  const auto at = where(it->first.source());
  // Keys built by the parser always carry a position; guard anyway.
  return at.line ? at : where(it->second.source());
}

std::string table_reader::qualified(std::string_view key) const {
  if (path_.empty()) return std::string{key};
  return path_ + "." + std::string{key};
}

void table_reader::error(std::string_view key, std::string message) {
  out_.add(key_location(key), qualified(key), std::move(message));
}

void table_reader::warning(std::string_view key, std::string message) {
  out_.warn(key_location(key), qualified(key), std::move(message));
}

void table_reader::table_error(std::string message) {
  out_.add(at_, path_, std::move(message));
}

void table_reader::wrong_type(std::string_view key, const toml::node& value,
                              std::string_view expected) {
  error(key, "expected " + std::string{expected} + ", found " +
                 std::string{type_name(value.type())});
}

std::optional<std::string> table_reader::get_string(std::string_view key) {
  const auto* node = find(key);
  if (!node) return std::nullopt;
  if (const auto* s = node->as_string()) return s->get();
  wrong_type(key, *node, "a string");
  return std::nullopt;
}

std::optional<bool> table_reader::get_bool(std::string_view key) {
  const auto* node = find(key);
  if (!node) return std::nullopt;
  if (const auto* b = node->as_boolean()) return b->get();
  wrong_type(key, *node, "a boolean (true or false)");
  return std::nullopt;
}

std::optional<std::int64_t> table_reader::get_int(std::string_view key,
                                                  std::int64_t min,
                                                  std::int64_t max) {
  const auto* node = find(key);
  if (!node) return std::nullopt;
  const auto* i = node->as_integer();
  if (!i) {
    wrong_type(key, *node, "an integer");
    return std::nullopt;
  }
  const std::int64_t v = i->get();
  if (v < 0 && min >= 0) {
    error(key, "must not be negative (is " + std::to_string(v) + ")");
    return std::nullopt;
  }
  if (v < min || v > max) {
    error(key, "must be between " + std::to_string(min) + " and " +
                   std::to_string(max) + " (is " + std::to_string(v) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<double> table_reader::get_number(std::string_view key) {
  const auto* node = find(key);
  if (!node) return std::nullopt;
  if (const auto* f = node->as_floating_point()) return f->get();
  if (const auto* i = node->as_integer()) return static_cast<double>(i->get());
  wrong_type(key, *node, "a number");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> table_reader::get_millis(
    std::string_view key, std::int64_t min) {
  auto v = get_int(key, min, max_millis);
  if (!v) return std::nullopt;
  return std::chrono::milliseconds{*v};
}

std::optional<int> table_reader::get_signal(std::string_view key) {
  const auto* node = find(key);
  if (!node) return std::nullopt;
  std::string text;
  if (const auto* s = node->as_string()) {
    text = s->get();
  } else if (const auto* i = node->as_integer()) {
    if (i->get() < 1 || i->get() > SIGRTMAX) {
      error(key, "must be a signal name or a number between 1 and " +
                     std::to_string(SIGRTMAX) + " (is " +
                     std::to_string(i->get()) + ")");
      return std::nullopt;
    }
    text = std::to_string(i->get());
  } else {
    wrong_type(key, *node, "a signal name or number");
    return std::nullopt;
  }
  if (auto sig = core::signal_from_name(text)) return *sig;
  error(key, "unknown signal '" + text + "'");
  return std::nullopt;
}

std::optional<std::size_t> table_reader::get_choice(
    std::string_view key, std::initializer_list<std::string_view> names) {
  auto text = get_string(key);
  if (!text) return std::nullopt;
  std::size_t index = 0;
  std::string list;
  for (auto name : names) {
    if (name == *text) return index;
    ++index;
    list += (list.empty() ? "" : ", ") + std::string{name};
  }
  error(key, "'" + *text + "' is not one of " + list);
  return std::nullopt;
}

const toml::table* table_reader::get_table(std::string_view key) {
  const auto* node = find(key);
  if (!node) return nullptr;
  if (const auto* t = node->as_table()) return t;
  wrong_type(key, *node, "a table");
  return nullptr;
}

const toml::array* table_reader::get_table_array(std::string_view key) {
  const auto* node = find(key);
  if (!node) return nullptr;
  const auto* a = node->as_array();
  if (!a || !a->is_array_of_tables()) {
    if (a && a->empty()) return a;  // `key = []`: no entries
    wrong_type(key, *node, "an array of tables ([[" + std::string{key} + "]])");
    return nullptr;
  }
  return a;
}

}  // namespace vitrine::cli::detail
