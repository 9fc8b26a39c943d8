#include "vitrine/baseline/detail/epoch_domain.hpp"

#include <limits>

#include "vitrine/core/detail/asymmetric_fence.hpp"

namespace vitrine::baseline::detail {

void epoch_list::push(epoch_node* n) noexcept {
  n->next = nullptr;
  (tail ? tail->next : head) = n;
  tail = n;
  ++size;
}

void epoch_list::append(epoch_list& other) noexcept {
  if (!other.head) return;
  (tail ? tail->next : head) = other.head;
  tail = other.tail;
  size += other.size;
  other = {};
}

epoch_record* epoch_domain::attach() {
  auto* record = new epoch_record;
  std::lock_guard lock{mutex_};
  record->next = records_;
  records_ = record;
  return record;
}

void epoch_domain::detach(epoch_record* record) noexcept {
  record->mark.store(0, std::memory_order_release);
  const std::uint64_t tag = epoch.fetch_add(1, std::memory_order_acq_rel) + 1;
  for (auto* n = record->untagged.head; n; n = n->next) n->epoch = tag;
  std::lock_guard lock{mutex_};
  orphans_.append(record->tagged);
  orphans_.append(record->untagged);
  for (auto** at = &records_; *at; at = &(*at)->next)
    if (*at == record) {
      *at = record->next;
      break;
    }
  delete record;
}

void epoch_domain::retire(epoch_record& record, epoch_node* node,
                          void (*destroy)(epoch_node*) noexcept,
                          bool self_quiescent) noexcept {
  node->destroy = destroy;
  node->epoch = 0;
  record.untagged.push(node);
  pending_.fetch_add(1, std::memory_order_relaxed);
  if (record.untagged.size >= retire_batch && !record.collecting)
    collect(record, self_quiescent);
}

std::uint64_t epoch_domain::oldest_mark() noexcept {
  std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
  for (auto* r = records_; r; r = r->next) {
    const auto m = r->mark.load(std::memory_order_acquire);
    if (m != 0 && m < oldest) oldest = m;
  }
  return oldest;
}

epoch_list epoch_domain::take_safe(epoch_list& list,
                                   std::uint64_t bound) noexcept {
  // Any order (orphans of several threads): every node tagged <= bound.
  epoch_list safe, kept;
  for (auto* n = list.head; n;) {
    auto* next = n->next;
    (n->epoch <= bound ? safe : kept).push(n);
    n = next;
  }
  list = kept;
  return safe;
}

void epoch_domain::free_all(epoch_list& list) noexcept {
  for (auto* n = list.head; n;) {
    auto* next = n->next;
    n->destroy(n);
    n = next;
  }
  pending_.fetch_sub(list.size, std::memory_order_relaxed);
  list = {};
}

void epoch_domain::collect(epoch_record& record, bool self_quiescent) noexcept {
  record.collecting = true;
  // The nodes were unlinked before this RMW: a thread that reads `epoch`
  // >= tag (acquire) afterwards cannot reach them.
  const std::uint64_t tag = epoch.fetch_add(1, std::memory_order_acq_rel) + 1;
  for (auto* n = record.untagged.head; n; n = n->next) n->epoch = tag;
  record.tagged.append(record.untagged);
  if (self_quiescent && record.mark.load(std::memory_order_relaxed) != 0)
    record.mark.store(tag, std::memory_order_release);
  // Pairs with the fence an EBR reader (or a QSBR thread coming online)
  // issues after setting its mark: either we see that mark, or its loads
  // see the unlinks above.
  core::detail::full_fence();
  epoch_list orphans;
  std::uint64_t bound = 0;
  {
    std::lock_guard lock{mutex_};
    bound = oldest_mark();
    if (orphans_.head) orphans = take_safe(orphans_, bound);
  }
  // The record's own list is in tag order: free its safe prefix.
  epoch_list safe;
  while (record.tagged.head && record.tagged.head->epoch <= bound) {
    auto* n = record.tagged.head;
    record.tagged.head = n->next;
    --record.tagged.size;
    safe.push(n);
  }
  if (!record.tagged.head) record.tagged.tail = nullptr;
  free_all(safe);
  free_all(orphans);
  record.collecting = false;
}

}  // namespace vitrine::baseline::detail
