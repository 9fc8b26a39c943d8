// read_mode: the one seam between the two ways vitrine lets host threads read
// process states. Chosen once, when a runtime is built.
#pragma once

#include <cstdint>
#include <string_view>

namespace vitrine {

enum class read_mode : std::uint8_t {
  /// The owning actor publishes immutable snapshots; readers load them
  /// lock-free and never message the actor. The design vitrine is for.
  hybrid,
  /// Baseline: readers ask the owning actor (request/response) and the
  /// registry actor; nothing is published. Same supervisor, same API.
  messaging,
};

constexpr std::string_view to_string(read_mode m) noexcept {
  return m == read_mode::hybrid ? "hybrid" : "messaging";
}

}  // namespace vitrine
