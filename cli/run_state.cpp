#include "run_state.hpp"

#include <filesystem>

#include "status.hpp"

namespace vitrine::cli {
namespace {

void append_names(const supervisor_spec& tree, std::string& out) {
  out += tree.name + "\n";
  for (const auto& child : tree.children) {
    if (const auto* group = std::get_if<supervisor_spec>(&child))
      append_names(*group, out);
    else
      out += std::get<process_spec>(child).name + "\n";
  }
}

}  // namespace

std::string write_run_order(const state_dir& dir, const supervisor_spec& tree) {
  std::string text;
  append_names(tree, text);
  return write_file_atomic(dir.file(order_leaf), text, 0600);
}

std::optional<state_dir> claim_run_state_dir(const std::string& option,
                                             std::string_view instance,
                                             const std::string& config_file,
                                             std::string& error) {
  const std::string path =
      option.empty() ? default_state_dir(instance) : option;
  auto dir = state_dir::claim(path, error);
  if (!dir) return std::nullopt;
  std::error_code ec;
  auto absolute = std::filesystem::absolute(config_file, ec);
  const std::string text =
      (ec ? config_file : absolute.lexically_normal().string()) + "\n";
  error = write_file_atomic(dir->file(config_leaf), text, 0600);
  if (!error.empty()) return std::nullopt;
  return dir;
}

}  // namespace vitrine::cli
