#!/usr/bin/env bash
# The test command: set up, build, and run every test through CTest, three
# times: a normal build, AddressSanitizer+UndefinedBehaviorSanitizer, and
# ThreadSanitizer (core and OS layers; see docs/testing.md for why not CAF).
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

run_suite() {  # name, build dir, ctest args, cmake args...
  local name=$1 dir=$2 ctest_args=$3
  shift 3
  echo "=== [$name] configure + build ($dir)"
  cmake -S "$root" -B "$dir" -G Ninja -DVITRINE_BUILD_BENCH=OFF "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "=== [$name] ctest"
  local start=$SECONDS
  # shellcheck disable=SC2086
  if ctest --test-dir "$dir" --output-on-failure $ctest_args; then
    summary+=("$name: passed ($((SECONDS - start)) s)")
  else
    summary+=("$name: FAILED")
    printf '%s\n' "${summary[@]}"
    exit 1
  fi
}

run_suite normal build/test "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
if ((!fast)); then
  VITRINE_STRESS_SCALE=10 run_suite asan+ubsan build/asan "" \
    -DCMAKE_BUILD_TYPE=Debug -DVITRINE_SANITIZE=address
  VITRINE_STRESS_SCALE=20 TSAN_OPTIONS="halt_on_error=1" run_suite tsan \
    build/tsan "-L core|os" -DCMAKE_BUILD_TYPE=Debug -DVITRINE_SANITIZE=thread
fi

echo "=== summary"
printf '%s\n' "${summary[@]}"
