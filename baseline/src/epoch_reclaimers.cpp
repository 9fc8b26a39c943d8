// The thread-facing parts of epoch_reclaimer and qsbr_reclaimer: attaching
// a thread's record on first use and detaching it at thread exit.
#include "vitrine/baseline/epoch_reclaimer.hpp"
#include "vitrine/baseline/qsbr_reclaimer.hpp"
#include "vitrine/core/detail/asymmetric_fence.hpp"

namespace vitrine::baseline {
namespace {

// Detaches a thread's record from `domain` when the thread exits, and
// clears the reclaimer's pointer to it (`slot`, this thread's `current`).
struct record_owner {
  detail::epoch_domain* domain = nullptr;
  detail::epoch_record* record = nullptr;
  detail::epoch_record** slot = nullptr;
  ~record_owner() {
    if (!record) return;
    *slot = nullptr;
    domain->detach(record);
  }
};

thread_local record_owner ebr_owner;
thread_local record_owner qsbr_owner;

detail::epoch_record* attach(detail::epoch_domain& domain, record_owner& owner,
                             detail::epoch_record*& slot) {
  owner.domain = &domain;
  owner.record = domain.attach();
  owner.slot = &slot;
  slot = owner.record;
  return owner.record;
}

}  // namespace

// -- EBR
// ------------------------------------------------------------------------

constinit thread_local detail::epoch_record* epoch_reclaimer::current = nullptr;

[[gnu::cold]] detail::epoch_record*
epoch_reclaimer::attach_current_thread() noexcept {
  return attach(domain, ebr_owner, current);
}

void epoch_reclaimer::retire(node_header* node,
                             void (*destroy)(node_header*) noexcept) noexcept {
  auto* r = current ? current : attach_current_thread();
  domain.retire(*r, node, destroy, false);
}

void epoch_reclaimer::reclaim_now() noexcept {
  auto* r = current ? current : attach_current_thread();
  domain.collect(*r, false);
}

// -- QSBR
// -----------------------------------------------------------------------

constinit thread_local detail::epoch_record* qsbr_reclaimer::current = nullptr;

[[gnu::cold]] detail::epoch_record*
qsbr_reclaimer::attach_current_thread() noexcept {
  return attach(domain, qsbr_owner, current);
}

[[gnu::cold]] detail::epoch_record* qsbr_reclaimer::come_online() noexcept {
  auto* r = current ? current : attach_current_thread();
  r->mark.store(domain.epoch.load(std::memory_order_acquire),
                std::memory_order_relaxed);
  core::detail::full_fence();  // online before the loads it covers
  return r;
}

void qsbr_reclaimer::offline() noexcept {
  if (current && current->depth == 0)
    current->mark.store(0, std::memory_order_release);
}

void qsbr_reclaimer::retire(node_header* node,
                            void (*destroy)(node_header*) noexcept) noexcept {
  auto* r = current ? current : attach_current_thread();
  domain.retire(*r, node, destroy, r->depth == 0);
}

void qsbr_reclaimer::reclaim_now() noexcept {
  auto* r = current ? current : attach_current_thread();
  domain.collect(*r, r->depth == 0);
}

}  // namespace vitrine::baseline
