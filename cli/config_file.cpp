// config_file.cpp: reading a configuration file for parse_config() (its
// size bounded, its directory the base of relative paths) and printing a
// diagnostic safely (config.hpp).
#include <algorithm>
#include <filesystem>
#include <ostream>
#include <tuple>
#include <vector>

#include "config.hpp"
#include "regular_file.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {

std::string describe(const diagnostic& d) {
  // Names, keys and values come from the file: nothing raw reaches a
  // terminal.
  if (d.line == 0)  // the file as a whole
    return terminal_safe(d.file + ": " + d.message);
  return terminal_safe(d.file + ":" + std::to_string(d.line) + ":" +
                       std::to_string(d.column) + ": " + d.key + ": " +
                       d.message);
}

parse_result load_config_file(const std::string& path, parse_options options) {
  std::string text;
  if (auto error = read_regular_file(path, max_config_bytes, text);
      !error.empty()) {
    parse_result result;
    result.problems.push_back({path, 0, 0, "", std::move(error)});
    return result;
  }
  if (options.base_dir.empty()) {
    std::error_code ignored;
    options.base_dir = std::filesystem::absolute(path, ignored)
                           .lexically_normal()
                           .parent_path()
                           .string();
  }
  return parse_config(text, path, options);
}

std::vector<std::string> in_file_order(const parse_result& result) {
  // Warnings among the problems.
  std::vector<const diagnostic*> lines;
  for (const auto& d : result.warnings) lines.push_back(&d);
  for (const auto& d : result.problems) lines.push_back(&d);
  std::stable_sort(lines.begin(), lines.end(), [](auto* a, auto* b) {
    return std::tie(a->line, a->column) < std::tie(b->line, b->column);
  });
  std::vector<std::string> described;
  described.reserve(lines.size());
  for (const auto* d : lines) described.push_back(describe(*d));
  return described;
}

void print_problems(const parse_result& result, std::ostream& out) {
  for (const auto& line : in_file_order(result)) out << line << "\n";
  if (!result.ok())
    out << result.problems.size()
        << (result.problems.size() == 1 ? " problem\n" : " problems\n");
}

}  // namespace vitrine::cli
