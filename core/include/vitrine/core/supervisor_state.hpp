// supervisor_state: the immutable snapshot a supervisor actor publishes, the
// same way process states are published (see publication_cell.hpp).
//
// Threads: written by its supervisor actor only; read from any thread.
// Cost: one small allocation per publish.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace vitrine::core {

enum class supervisor_status : std::uint8_t {
  starting,       ///< starting its children in order
  running,        ///< all children started
  restarting,     ///< applying its strategy after a child exit
  shutting_down,  ///< stopping its children in reverse order
  stopped,        ///< shut down on request
  failed,         ///< restart intensity exceeded; children stopped
};

std::string_view to_string(supervisor_status status) noexcept;

struct supervisor_state {
  std::uint64_t version = 0;
  supervisor_status status = supervisor_status::starting;
  std::uint32_t child_count = 0;
  std::uint32_t restarts = 0;  ///< restarts this supervisor ordered, total
  std::shared_ptr<const std::string> name_storage;

  std::string_view name() const noexcept {
    return name_storage ? std::string_view{*name_storage} : std::string_view{};
  }
};

}  // namespace vitrine::core
