// runtime_access: what vitrine's own code (the baselines, the runtime) reaches
// inside a runtime and its handles that the public API does not offer: the
// records handles share with the owning actors. Internal: not installed.
#pragma once

#include <memory>

#include "vitrine/process_handle.hpp"
#include "vitrine/runtime.hpp"
#include "vitrine/supervisor_handle.hpp"

namespace vitrine::detail {

struct runtime_access {
  static name_source names(const runtime& rt) noexcept { return rt.names(); }
  static const runtime::registry_type& registry(const runtime& rt) noexcept {
    return rt.registry();
  }

  static const std::shared_ptr<process_record>& record(
      const process_handle& h) noexcept {
    return h.record_;
  }
  static const std::shared_ptr<supervisor_record>& record(
      const supervisor_handle& h) noexcept {
    return h.record_;
  }

  static process_handle make_handle(std::shared_ptr<process_record> record,
                                    const read_policy& reads) noexcept {
    return process_handle{std::move(record), reads};
  }
  static supervisor_handle make_handle(
      std::shared_ptr<supervisor_record> record,
      const read_policy& reads) noexcept {
    return supervisor_handle{std::move(record), reads};
  }
};

}  // namespace vitrine::detail
