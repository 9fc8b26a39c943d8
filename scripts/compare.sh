#!/usr/bin/env bash
# The comparison command: set up, build the benchmarks (Release), run every
# benchmark binary into results/<binary>.json, then render the tables to the
# terminal and to docs/results.md (plots in docs/img/).
#
#   scripts/compare.sh           full run: 15 repetitions, default min time
#   scripts/compare.sh --quick   5 repetitions, 0.05 s min time (< ~2 min)
#
# Extra arguments after -- go to every benchmark binary, e.g.
#   scripts/compare.sh --quick -- --benchmark_filter='^read/'
# Medians of the repetitions are what report.py uses. The machine this runs
# on should be otherwise idle; the numbers are only comparable within one run.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
extra=()
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "compare.sh: unknown argument '$1' (expected --quick or -- ARGS)" >&2
       exit 2 ;;
  esac
  shift
done

# Benchmark binaries (targets under bench/), in the order they run. Each one
# writes results/<name>.json; scripts/report.py has one section per name.
binaries=(vitrine_bench_core)

if ((quick)); then
  mode=quick
  run_args=(--benchmark_repetitions=5 --benchmark_min_time=0.05)
else
  mode=full
  run_args=(--benchmark_repetitions=15)
fi
run_args+=(--benchmark_report_aggregates_only=true)

scripts/setup.sh

build=build/release
jobs=$(nproc)
echo "=== compare ($mode): configure + build Release in $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DVITRINE_BUILD_TESTS=OFF -DVITRINE_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$jobs" --target "${binaries[@]}"

mkdir -p results
start_all=$SECONDS
for i in "${!binaries[@]}"; do
  name=${binaries[$i]}
  exe=$(find "$build" -type f -name "$name" -perm -u+x | head -n 1)
  if [ -z "$exe" ]; then
    echo "compare.sh: built binary $name not found under $build" >&2
    exit 1
  fi
  echo "=== [$((i + 1))/${#binaries[@]}] $name (${run_args[*]}) ..."
  start=$SECONDS
  "$exe" "${run_args[@]}" "${extra[@]}" \
    --benchmark_out="results/$name.json" --benchmark_out_format=json \
    >"$build/$name.txt"
  echo "    done in $((SECONDS - start)) s -> results/$name.json" \
       "(console table in $build/$name.txt)"
done
echo "=== benchmarks took $((SECONDS - start_all)) s; rendering the report"

/usr/bin/python3 scripts/report.py results/ --mode "$mode"
