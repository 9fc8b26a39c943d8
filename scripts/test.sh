#!/usr/bin/env bash
# The test command: set up, build the API reference (Doxygen, warnings are
# errors), and run every test through CTest (the docs check included) three
# times, with VITRINE_WERROR=ON: a normal build, AddressSanitizer +
# UndefinedBehaviorSanitizer, and ThreadSanitizer (core and OS layers:
# Debian's CAF is not instrumented, see docs/testing.md); then fuzz the
# config parser, the status table reader and the control request parser
# with libFuzzer (clang) for a bounded time (VITRINE_FUZZ_SECONDS, default
# 60, the other two half of it).
#
#   scripts/test.sh            everything
#   scripts/test.sh --fast     the normal build only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

fast=0
for arg in "$@"; do
  case "$arg" in
    --fast) fast=1 ;;
    *) echo "test.sh: unknown argument '$arg' (expected --fast)" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
jobs=$(nproc)
summary=()
total_passed=0
set -o pipefail

run_suite() {  # name, build dir, ctest args, cmake args...
  local name=$1 dir=$2 ctest_args=$3
  shift 3
  echo "=== [$name] configure + build ($dir)"
  cmake -S "$root" -B "$dir" -G Ninja -DVITRINE_BUILD_BENCH=OFF \
    -DVITRINE_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "=== [$name] ctest"
  local start=$SECONDS
  # shellcheck disable=SC2086
  if ctest --test-dir "$dir" --output-on-failure $ctest_args |
      tee "$dir/ctest.log"; then
    local count
    count=$(grep -o 'tests failed out of [0-9]*' "$dir/ctest.log" |
      grep -o '[0-9]*$' || echo 0)
    total_passed=$((total_passed + count))
    summary+=("$name: $count tests passed ($((SECONDS - start)) s)")
  else
    summary+=("$name: FAILED")
    printf '%s\n' "${summary[@]}"
    exit 1
  fi
}

echo "=== [apidoc] Doxygen over the public headers"
scripts/apidoc.sh
summary+=("apidoc: 0 warnings (build/apidoc/html/index.html)")

run_suite normal build/test "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
if ((!fast)); then
  VITRINE_STRESS_SCALE=10 run_suite asan+ubsan build/asan "" \
    -DCMAKE_BUILD_TYPE=Debug -DVITRINE_SANITIZE=address
  VITRINE_STRESS_SCALE=20 TSAN_OPTIONS="halt_on_error=1" run_suite tsan \
    build/tsan "-L ^(core|os)$" -DCMAKE_BUILD_TYPE=Debug -DVITRINE_SANITIZE=thread
fi

if ((!fast)); then
  fuzz_seconds=${VITRINE_FUZZ_SECONDS:-60}
  CC=clang CXX=clang++ cmake -S "$root" -B build/fuzz -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITRINE_FUZZ=ON \
    -DVITRINE_SANITIZE=address -DVITRINE_BUILD_TESTS=OFF -DVITRINE_WERROR=ON \
    -DVITRINE_BUILD_BENCH=OFF >/dev/null
  cmake --build build/fuzz -j "$jobs" --target config_fuzzer status_table_fuzzer \
    control_request_fuzzer

  fuzz() {  # name, seconds, seed corpus dir, regressions dir
    local name=$1 seconds=$2 seeds=$3 regressions=$4
    echo "=== [fuzz] libFuzzer on $name for $seconds s"
    local work=build/fuzz/$name
    mkdir -p "$work/corpus" "$regressions"
    cp "$seeds"/* "$work/corpus/"
    local start=$SECONDS
    # A crash leaves build/fuzz/<name>/crash-*: add it to the regressions.
    if "build/fuzz/fuzz/$name" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/corpus" "$regressions" \
        >"$work/fuzz.log" 2>&1; then
      local runs
      runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/fuzz.log" | grep -o '[0-9]*$' || true)
      summary+=("fuzz $name: passed (${runs:-?} inputs in $((SECONDS - start)) s)")
    else
      tail -n 40 "$work/fuzz.log"
      summary+=("fuzz $name: FAILED (see $work/fuzz.log and $work/crash-*)")
      printf '%s\n' "${summary[@]}"
      exit 1
    fi
  }
  # The config parser, and the reader of (untrusted) status table mappings.
  fuzz config_fuzzer "$fuzz_seconds" fuzz/corpus fuzz/regressions
  fuzz status_table_fuzzer $((fuzz_seconds / 2)) fuzz/status_corpus \
    fuzz/status_regressions
  # The control socket's request parser (bytes from any local client).
  fuzz control_request_fuzzer $((fuzz_seconds / 2)) fuzz/control_corpus \
    fuzz/control_regressions
fi

echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "tests: $total_passed passed, 0 failed"
