#include "capture_moves.hpp"

#include <sys/stat.h>

#include <utility>
#include <variant>

namespace vitrine::cli {

const process_spec* find_program(const supervisor_spec& tree,
                                 std::string_view name) {
  for (const auto& child : tree.children) {
    if (const auto* p = std::get_if<process_spec>(&child)) {
      if (p->name == name) return p;
    } else if (const auto* found =
                   find_program(std::get<supervisor_spec>(child), name)) {
      return found;
    }
  }
  return nullptr;
}

capture_files captures_of(const process_spec& program) {
  using kind = os::stdio_target::kind;
  const auto& out = program.launch.stdout_target;
  const auto& err = program.launch.stderr_target;
  capture_files files;
  files.backups = program.logs.backups;
  if (out.mode == kind::capture) files.paths.push_back(out.path);
  if (err.mode == kind::capture &&
      (out.mode != kind::capture || err.path != out.path))
    files.paths.push_back(err.path);
  return files;
}

capture_moves::capture_moves(const state_dir& dir, std::string config,
                             std::string name, std::vector<std::string> now)
    : order_{dir.file(order_leaf)},
      config_{std::move(config)},
      name_{std::move(name)},
      paths_{std::move(now)},
      seen_{stamp_of(order_)} {}

capture_moves::file_stamp capture_moves::stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino,
          st.st_mtim.tv_sec * std::int64_t{1'000'000'000} + st.st_mtim.tv_nsec};
}

std::optional<capture_files> capture_moves::look() {
  const auto order = stamp_of(order_);
  if (order == seen_ || order.modified_ns < 0) return std::nullopt;
  // Written after the reload: what it says is not applied yet.
  if (stamp_of(config_).modified_ns > order.modified_ns) return std::nullopt;
  seen_ = order;
  parse_options parse;
  parse.semantic_checks = false;  // as `logs` reads it at its start
  const auto config = load_config_file(config_, parse);
  const auto* program =
      config.ok() ? find_program(config.value.tree, name_) : nullptr;
  if (!program) return std::nullopt;
  auto files = captures_of(*program);
  if (files.paths.empty() || files.paths == paths_) return std::nullopt;
  paths_ = files.paths;
  return files;
}

}  // namespace vitrine::cli
