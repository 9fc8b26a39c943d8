#include "vitrine/baseline/urcu_reclaimer.hpp"

#include <cstddef>

namespace vitrine::baseline {
namespace {

// Unregisters the thread from liburcu when it exits.
struct urcu_thread_exit {
  bool active = false;
  ~urcu_thread_exit() {
    if (active) urcu_memb_unregister_thread();
  }
};
thread_local urcu_thread_exit thread_exit;

void free_node(rcu_head* head) noexcept {
  auto* node = reinterpret_cast<urcu_memb_reclaimer::node_header*>(
      reinterpret_cast<char*>(head) -
      offsetof(urcu_memb_reclaimer::node_header, head));
  node->destroy(node);
}

}  // namespace

constinit thread_local bool urcu_memb_reclaimer::registered = false;

[[gnu::cold]] void urcu_memb_reclaimer::register_current_thread() noexcept {
  urcu_memb_register_thread();
  registered = true;
  thread_exit.active = true;
}

void urcu_memb_reclaimer::retire(
    node_header* node, void (*destroy)(node_header*) noexcept) noexcept {
  if (!registered) [[unlikely]]
    register_current_thread();
  node->destroy = destroy;
  urcu_memb_call_rcu(&node->head, &free_node);
}

void urcu_memb_reclaimer::reclaim_now() noexcept {
  if (!registered) register_current_thread();
  urcu_memb_barrier();
}

}  // namespace vitrine::baseline
