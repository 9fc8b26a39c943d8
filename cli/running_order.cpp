#include "running_order.hpp"

#include <variant>

namespace vitrine::cli {
namespace {

void add_programs(const supervisor_spec& tree,
                  running_order::position_map& out) {
  for (const auto& child : tree.children) {
    if (const auto* group = std::get_if<supervisor_spec>(&child))
      add_programs(*group, out);
    else
      out.emplace(std::get<process_spec>(child).name,
                  static_cast<std::uint32_t>(out.size()));
  }
}

}  // namespace

void running_order::set(const supervisor_spec& tree) {
  auto positions = std::make_shared<position_map>();
  add_programs(tree, *positions);
  std::lock_guard lock{mutex_};
  positions_ = std::move(positions);
  version_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const running_order::position_map> running_order::positions()
    const {
  std::lock_guard lock{mutex_};
  return positions_;
}

}  // namespace vitrine::cli
