// The reclaimers every typed test runs against. liburcu is not built with
// ThreadSanitizer, so TSan cannot see its hand-off of retired nodes to the
// call_rcu thread and reports every free there as a race: under TSan only our
// own reclaimer is checked (ASan still covers liburcu).
#pragma once

#include "vitrine/baseline/urcu_reclaimer.hpp"
#include "vitrine/core/hazard_pointer.hpp"

#if defined(VITRINE_TSAN)
#define VITRINE_TEST_RECLAIMERS vitrine::core::hazard_pointer_reclaimer
#else
#define VITRINE_TEST_RECLAIMERS            \
  vitrine::core::hazard_pointer_reclaimer, \
      vitrine::baseline::urcu_memb_reclaimer
#endif
