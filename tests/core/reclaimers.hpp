// The reclaimers every typed test runs against. liburcu is not built with
// ThreadSanitizer, so TSan cannot see its hand-off of retired nodes to the
// call_rcu thread and reports every free there as a race: under TSan only our
// own reclaimers are checked (ASan still covers liburcu). EBR and QSBR are
// the reference reclaimers of the design study (baseline/).
#pragma once

#include "vitrine/baseline/epoch_reclaimer.hpp"
#include "vitrine/baseline/qsbr_reclaimer.hpp"
#include "vitrine/baseline/urcu_reclaimer.hpp"
#include "vitrine/core/hazard_pointer.hpp"

#if defined(VITRINE_TSAN)
#define VITRINE_TEST_RECLAIMERS                                                \
  vitrine::core::hazard_pointer_reclaimer, vitrine::baseline::epoch_reclaimer, \
      vitrine::baseline::qsbr_reclaimer
#else
#define VITRINE_TEST_RECLAIMERS               \
  vitrine::core::hazard_pointer_reclaimer,    \
      vitrine::baseline::urcu_memb_reclaimer, \
      vitrine::baseline::epoch_reclaimer, vitrine::baseline::qsbr_reclaimer
#endif
