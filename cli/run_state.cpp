#include "run_state.hpp"

#include <sys/stat.h>

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

/// The config leaf's text: the absolute path of `config_file`.
std::string config_leaf_text(const std::string& config_file) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(config_file, ec);
  return (ec ? config_file : absolute.lexically_normal().string()) + "\n";
}

}  // namespace

run_leaves::run_leaves(const state_dir& dir, const std::string& config_file)
    : dir_(dir), config_text_(config_leaf_text(config_file)) {}

std::string run_leaves::write_order(const supervisor_spec& tree) {
  std::string text;
  append_names(tree, text);
  std::lock_guard lock{mutex_};
  order_text_ = std::move(text);
  auto error = write_file_atomic(dir_.file(order_leaf), order_text_, 0600);
  order_stale_ = !error.empty();
  next_retry_ = std::chrono::steady_clock::now() + std::chrono::seconds{1};
  return error;
}

std::string run_leaves::retry_order() {
  std::lock_guard lock{mutex_};
  const auto now = std::chrono::steady_clock::now();
  if (!order_stale_ || now < next_retry_) return {};
  next_retry_ = now + std::chrono::seconds{1};
  const std::string path = dir_.file(order_leaf);
  if (!write_file_atomic(path, order_text_, 0600).empty()) return {};
  order_stale_ = false;
  return "wrote " + path + " again: `vitrine status` lists the run's order";
}

std::string run_leaves::put_back(std::string_view leaf) {
  std::lock_guard lock{mutex_};
  const std::string* text = leaf == config_leaf  ? &config_text_
                            : leaf == order_leaf ? &order_text_
                                                 : nullptr;
  if (!text || text->empty()) return {};
  const std::string path = dir_.file(leaf);
  struct stat there {};
  if (::lstat(path.c_str(), &there) == 0) return {};  // another file took it
  return write_file_atomic(path, *text, 0600);
}

std::optional<state_dir> claim_run_state_dir(const std::string& option,
                                             std::string_view instance,
                                             const std::string& config_file,
                                             std::string& error) {
  const std::string path =
      option.empty() ? default_state_dir(instance) : option;
  auto dir = state_dir::claim(path, error);
  if (!dir) return std::nullopt;
  // Claimed: what a killed run's writes left here is nobody's.
  for (const auto leaf : {config_leaf, order_leaf})
    remove_stale_temporaries(dir->file(leaf));
  error = write_file_atomic(dir->file(config_leaf),
                            config_leaf_text(config_file), 0600);
  if (!error.empty()) return std::nullopt;
  return dir;
}

}  // namespace vitrine::cli
