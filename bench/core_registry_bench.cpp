// The registry rows of vitrine_bench_core (core_read_bench.cpp has the
// binary's main and the read and publish rows):
//
//   lookup/<impl>/names:{10,1000}/threads:{1,2}   registry<V>::lookup of an
//       existing name vs unordered_map + std::mutex / std::shared_mutex;
//       plus two breakdowns: registry_prehashed (the table's find with a
//       precomputed hash) and hash_only (registry::key_hash of the name).
//   iterate/<impl>/entries:10/threads:{1,2}       visit every entry.
#include "core_registry_bench.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "alloc_counter.hpp"
#include "vitrine/core/registry.hpp"

namespace {

using vitrine::bench::report_allocations;
using vitrine::bench::thread_allocations;

struct proc_value {
  std::uint64_t id;
  std::uint64_t payload[7];
};

/// The same names in a registry and in the two map baselines.
struct name_table {
  explicit name_table(std::size_t n) {
    std::vector<std::pair<std::string, std::shared_ptr<proc_value>>> items;
    for (std::size_t i = 0; i < n; ++i) {
      names.push_back("proc-" + std::to_string(i));
      auto value = std::make_shared<proc_value>(proc_value{i, {}});
      items.emplace_back(names.back(), value);
      map.emplace(names.back(), value);
    }
    reg.insert_all(std::move(items));
  }

  std::vector<std::string> names;
  vitrine::core::registry<proc_value> reg;
  std::unordered_map<std::string, std::shared_ptr<proc_value>> map;
  mutable std::mutex mutex;
  mutable std::shared_mutex shared_mutex;
};

const name_table& names_of_size(std::size_t n) {
  static const name_table* ten = new name_table(10);
  static const name_table* thousand = new name_table(1000);
  return n == 10 ? *ten : *thousand;
}

enum class lookup_impl {
  registry,              // registry::lookup(name)
  registry_find_shared,  // registry::find_shared(name): + refcount bump
  registry_prehashed,    // snapshot()->find(name, hash): hash precomputed
  hash_only,             // registry::key_hash(name) alone: a component
  map_mutex,
  map_shared_mutex
};

/// Looks up existing names, cycling through all of them (each thread from a
/// different start), and reads the value's id.
template <lookup_impl Impl>
void BM_lookup(benchmark::State& st) {
  const name_table& t = names_of_size(static_cast<std::size_t>(st.range(0)));
  const std::size_t n = t.names.size();
  std::vector<std::size_t> hashes;
  for (const auto& name : t.names)
    hashes.push_back(decltype(t.reg)::key_hash(name));
  std::size_t i = static_cast<std::size_t>(st.thread_index()) * 7 % n;
  const auto before = thread_allocations();
  for (auto _ : st) {
    const std::string& name = t.names[i];
    [[maybe_unused]] const std::size_t hash = hashes[i];
    i = i + 1 == n ? 0 : i + 1;
    if constexpr (Impl == lookup_impl::registry) {
      auto found = t.reg.lookup(name);
      benchmark::DoNotOptimize(found->id);
    } else if constexpr (Impl == lookup_impl::registry_find_shared) {
      auto value = t.reg.find_shared(name);
      benchmark::DoNotOptimize(value->id);
    } else if constexpr (Impl == lookup_impl::registry_prehashed) {
      auto view = t.reg.snapshot();
      benchmark::DoNotOptimize(view->find(name, hash)->value->id);
    } else if constexpr (Impl == lookup_impl::hash_only) {
      benchmark::DoNotOptimize(decltype(t.reg)::key_hash(name));
    } else if constexpr (Impl == lookup_impl::map_mutex) {
      std::lock_guard lock{t.mutex};
      benchmark::DoNotOptimize(t.map.find(name)->second->id);
    } else {
      std::shared_lock lock{t.shared_mutex};
      benchmark::DoNotOptimize(t.map.find(name)->second->id);
    }
  }
  report_allocations(st, before);
}

enum class iterate_impl { registry_snapshot, map_mutex };

/// Visits every entry of a 10-name table, summing the values' ids.
template <iterate_impl Impl>
void BM_iterate(benchmark::State& st) {
  const name_table& t = names_of_size(static_cast<std::size_t>(st.range(0)));
  const auto before = thread_allocations();
  for (auto _ : st) {
    std::uint64_t sum = 0;
    if constexpr (Impl == iterate_impl::registry_snapshot) {
      auto view = t.reg.snapshot();
      for (const auto& e : view->entries()) sum += e->value->id;
    } else {
      std::lock_guard lock{t.mutex};
      for (const auto& [name, value] : t.map) sum += value->id;
    }
    benchmark::DoNotOptimize(sum);
  }
  report_allocations(st, before);
}

// -- registration -------------------------------------------------------------

template <lookup_impl Impl>
void register_lookup(const char* name) {
  benchmark::RegisterBenchmark((std::string("lookup/") + name).c_str(),
                               &BM_lookup<Impl>)
      ->ArgName("names")
      ->Arg(10)
      ->Arg(1000)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
}

template <iterate_impl Impl>
void register_iterate(const char* name) {
  benchmark::RegisterBenchmark((std::string("iterate/") + name).c_str(),
                               &BM_iterate<Impl>)
      ->ArgName("entries")
      ->Arg(10)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
}

}  // namespace

void vitrine::bench::register_registry_benchmarks() {
  register_lookup<lookup_impl::registry>("registry");
  register_lookup<lookup_impl::registry_find_shared>("registry_find_shared");
  register_lookup<lookup_impl::registry_prehashed>("registry_prehashed");
  register_lookup<lookup_impl::hash_only>("hash_only");
  register_lookup<lookup_impl::map_mutex>("map_mutex");
  register_lookup<lookup_impl::map_shared_mutex>("map_shared_mutex");
  register_iterate<iterate_impl::registry_snapshot>("registry_snapshot");
  register_iterate<iterate_impl::map_mutex>("map_mutex");
}
