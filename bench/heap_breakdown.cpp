#include "heap_breakdown.hpp"

#include <malloc.h>

#include <caf/all.hpp>
#include <memory>
#include <vector>

#include "packed_spec.hpp"
#include "vitrine/detail/process_record.hpp"
#include "vitrine/process_spec.hpp"

namespace vitrine::bench {
namespace {

double heap_in_use() {
  ::malloc_trim(0);
  const auto info = ::mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

}  // namespace

std::map<std::string, double> heap_parts(std::size_t n) {
  std::map<std::string, double> parts;
  const auto per = [n](double bytes) { return bytes / static_cast<double>(n); };
  std::vector<std::shared_ptr<detail::process_record>> records;
  records.reserve(n);
  double before = heap_in_use();
  for (std::size_t i = 0; i < n; ++i)
    records.push_back(std::make_shared<detail::process_record>(
        std::make_shared<const std::string>("proc-" + std::to_string(i)),
        detail::process_record::publishing::as_it_runs));
  double after = heap_in_use();
  parts["record"] = per(after - before);
  before = after;
  for (auto& r : records) {
    core::process_state next = r->state.current_unsafe();
    next.version += 1;
    next.pid = 4242;
    next.status = core::process_status::running;
    core::transition_history history;
    core::transition entry;
    entry.version = next.version;
    entry.pid = next.pid;
    entry.status = next.status;
    history.push(entry);
    r->history.publish(history);
    r->state.publish(std::move(next));
  }
  after = heap_in_use();
  parts["cells_published"] = per(after - before);
  records.clear();

  // The spec as its actor keeps it, for the fleet's `sleep`: inline part
  // and packed block.
  process_spec spec;
  spec.launch.argv = {"/bin/sleep", "1000000"};
  std::vector<detail::packed_spec> specs;
  specs.reserve(n);
  before = heap_in_use();
  for (std::size_t i = 0; i < n; ++i) specs.emplace_back(spec);
  after = heap_in_use();
  parts["packed_spec"] =
      static_cast<double>(sizeof(detail::packed_spec)) + per(after - before);

  caf::actor_system_config config;
  config.set("scheduler.max-threads", 1);
  caf::actor_system system{config};
  std::vector<caf::actor> actors;
  actors.reserve(n);
  before = heap_in_use();
  for (std::size_t i = 0; i < n; ++i)
    actors.push_back(
        system.spawn([]() -> caf::behavior { return {[](int) {}}; }));
  after = heap_in_use();
  parts["caf_actor_min"] = per(after - before);
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  actors.clear();

  parts["sizeof_state"] = sizeof(core::process_state);
  parts["sizeof_history"] = sizeof(core::transition_history);
  return parts;
}

}  // namespace vitrine::bench
