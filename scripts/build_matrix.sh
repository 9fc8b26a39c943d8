#!/usr/bin/env bash
# The build matrix: configure and build every target (library, cli, tests,
# benchmarks) with GCC 12 and clang 14 in each of Debug, Release,
# RelWithDebInfo and MinSizeRel, with -DVITRINE_WERROR=ON
# -DVITRINE_BUILD_BENCH=ON, each in build/matrix/<compiler>-<type>, then
# each of examples/ as an outside project (find_package(vitrine) of the
# build tree's package, tests/docs/package; -Wall -Wextra -Wpedantic
# -Werror of its own, our headers not treated as system headers). A
# combination fails on its first error (warnings of our code are errors) or
# if its build log holds any other "warning:" line (linker, CMake). The
# script stops at the first failing combination unless --keep-going, and
# prints a summary: one line per combination with its time.
#
#   scripts/build_matrix.sh                      all 8, from the work tree
#   scripts/build_matrix.sh --snapshot           build HEAD as committed
#                                                (git archive into
#                                                build/matrix/src-<commit>),
#                                                so later edits don't mix in
#   scripts/build_matrix.sh --only gcc-Release   one (or a comma list)
#   scripts/build_matrix.sh --jobs 2 --keep-going
#
# Builds nothing in the tests' sense: it runs no test. Logs are in
# build/matrix/<compiler>-<type>/build.log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

jobs=$(nproc)
keep_going=0
snapshot=0
only=""
while (($#)); do
  case "$1" in
    --jobs) jobs=$2; shift 2 ;;
    --keep-going) keep_going=1; shift ;;
    --snapshot) snapshot=1; shift ;;
    --only) only=$2; shift 2 ;;
    *) echo "build_matrix.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

matrix=$root/build/matrix
mkdir -p "$matrix"
source_dir=$root
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ((snapshot)); then
  source_dir=$matrix/src-$commit
  if [[ ! -d $source_dir ]]; then
    mkdir -p "$source_dir"
    git -C "$root" archive HEAD | tar -x -C "$source_dir"
  fi
  echo "=== building commit $commit from $source_dir"
else
  dirty=$(git -C "$root" status --porcelain --untracked-files=no | wc -l)
  echo "=== building the work tree at $commit ($dirty modified files)"
fi

declare -A compilers=([gcc]=g++-12 [clang]=clang++-14)
types=(Release Debug MinSizeRel RelWithDebInfo)  # -O3 first: most warnings
summary=()
failed=0

build_examples() {  # compiler key, build type, build dir
  local example name
  for example in "$source_dir"/examples/*/; do
    name=$(basename "$example")
    echo "=== example $name"
    cmake -S "$example" -B "$3/examples/$name" -G Ninja \
      -DCMAKE_CXX_COMPILER="${compilers[$1]}" -DCMAKE_BUILD_TYPE="$2" \
      -Dvitrine_DIR="$3/tests/docs/package" \
      -DCMAKE_NO_SYSTEM_FROM_IMPORTED=ON \
      -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" &&
      cmake --build "$3/examples/$name" -j "$jobs" || return 1
  done
}

build_one() {  # compiler key, build type
  local key=$1 type=$2 name=$1-$2
  local dir=$matrix/$name log=$matrix/$name/build.log start=$SECONDS
  # A build dir configured from another source (an older snapshot) is
  # started afresh: CMake refuses to switch sources.
  if [[ -f $dir/CMakeCache.txt ]] &&
    ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$source_dir" "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  mkdir -p "$dir"
  echo "=== [$name] configure + build ($dir)"
  if cmake -S "$source_dir" -B "$dir" -G Ninja \
      -DCMAKE_CXX_COMPILER="${compilers[$key]}" -DCMAKE_BUILD_TYPE="$type" \
      -DVITRINE_WERROR=ON -DVITRINE_BUILD_BENCH=ON >"$log" 2>&1 &&
    cmake --build "$dir" -j "$jobs" >>"$log" 2>&1 &&
    build_examples "$key" "$type" "$dir" >>"$log" 2>&1; then
    if grep -n 'warning:' "$log" >"$dir/warnings"; then
      summary+=("$name: WARNINGS after $((SECONDS - start)) s (see $dir/warnings)")
      cat "$dir/warnings"
      return 1
    fi
    summary+=("$name: ok in $((SECONDS - start)) s")
    return 0
  fi
  summary+=("$name: FAILED after $((SECONDS - start)) s (see $log)")
  grep -m 20 -A 5 'error:\|warning:' "$log" || tail -30 "$log"
  return 1
}

for key in gcc clang; do
  command -v "${compilers[$key]}" >/dev/null ||
    { echo "build_matrix.sh: ${compilers[$key]} not found" >&2; exit 2; }
done
for type in "${types[@]}"; do
  for key in gcc clang; do
    if [[ -n $only && ",$only," != *",$key-$type,"* ]]; then continue; fi
    if ! build_one "$key" "$type"; then
      failed=1
      ((keep_going)) || break 2
    fi
  done
done

echo "=== build matrix summary (commit $commit)"
printf '%s\n' "${summary[@]}"
exit "$failed"
