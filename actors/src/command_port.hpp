// command_port: the CAF side of a process_record, i.e. how handles message
// the owning actor. Internal. Threads: any; immutable once built.
#pragma once

#include <caf/all.hpp>

namespace vitrine::detail {

class command_port {
 public:
  explicit command_port(caf::actor owner) : owner_(std::move(owner)) {}
  const caf::actor& owner() const noexcept { return owner_; }

 private:
  caf::actor owner_;
};

}  // namespace vitrine::detail
