#include "basp_stall.hpp"

#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>

namespace vitrine::test {
namespace {

caf::io::basp::message_queue& queue_of(caf::actor_system& system) {
  auto broker =
      system.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  return static_cast<caf::io::basp_broker*>(
             caf::actor_cast<caf::abstract_actor*>(broker))
      ->instance.queue();
}

}  // namespace

basp_stall::basp_stall(caf::actor_system& system)
    : system_(&system), withheld_(queue_of(system).new_id()) {}

basp_stall::~basp_stall() {
  release();
}

void basp_stall::release() {
  if (released_) return;
  released_ = true;
  queue_of(*system_).drop(nullptr, withheld_);
}

}  // namespace vitrine::test
