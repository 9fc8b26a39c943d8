// The Reclaimer concept: the one seam through which publication_cell and
// registry free old snapshots. hazard_pointer_reclaimer is the default;
// urcu_memb_reclaimer (liburcu's memb flavor) is the other model here, and
// baseline/ adds epoch_reclaimer and qsbr_reclaimer as reference points,
// all measured side by side in bench/.
//
// Threads and cost are the model's (see its header): for both, guards are
// per thread and cost no lock; retire() never blocks the caller.
//
// A model provides:
//   node_header    a base class of every managed node;
//   guard          RAII reader section; guard.protect(atomic<Node*>) returns
//                  a node that stays alive until the guard ends;
//   retire(h, f)   frees node h by f(h) once no guard can still see it;
//   reclaim_now()  frees what can be freed now (writers going idle, tests).
#pragma once

#include <atomic>
#include <concepts>

namespace vitrine::core {

namespace detail {
template <class R>
struct probe_node : R::node_header {};
}  // namespace detail

template <class R>
concept reclaimer =
    std::default_initializable<typename R::guard> &&
    !std::copy_constructible<typename R::guard> &&
    requires(typename R::guard & g,
             const std::atomic<detail::probe_node<R>*>& source,
             typename R::node_header* header,
             void (*destroy)(typename R::node_header*) noexcept) {
  { g.protect(source) } -> std::same_as<detail::probe_node<R>*>;
  R::retire(header, destroy);
  R::reclaim_now();
};

}  // namespace vitrine::core
