#!/usr/bin/env bash
# The package test: install the current build tree into a temporary prefix,
# then build every example as a standalone project against that install
# (find_package(vitrine)), run each (exit 0 within 10 s), check pkg-config,
# and build one example from pkg-config flags alone. The examples are built
# with -Wall -Wextra -Wpedantic -Werror of their own: our installed headers
# must not break a consumer that holds itself to that (with pkg-config's
# flags they are not even system headers).
#
#   package_test.sh <build dir> <source dir> [<generator> [<sanitize>]]
#
# <sanitize> is the build's VITRINE_SANITIZE (address | thread | empty): an
# instrumented vitrine needs the examples linked with the same runtime.
set -euo pipefail
build=$(cd "$1" && pwd)
source=$(cd "$2" && pwd)
generator=${3:-Ninja}
case ${4:-} in
  address) sanitize=(-fsanitize=address,undefined) ;;
  thread) sanitize=(-fsanitize=thread) ;;
  *) sanitize=() ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-package-XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

step() { echo "=== $*"; }
consumer_warnings=(-Wall -Wextra -Wpedantic -Werror)

step "install $build -> $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in lib/cmake/vitrine/vitrineConfig.cmake include/vitrine/vitrine.hpp \
         lib/libvitrine_runtime.a; do
  [[ -f $prefix/$f ]] || { echo "missing after install: $f" >&2; exit 1; }
done

if [[ -x $prefix/bin/vitrine ]]; then
  # The front runs plain status, ctl and reload lines itself and execs
  # vitrine-cli for the rest, which execs vitrine-run for run, check, logs
  # and the remote commands: each found beside the other in bin/.
  step "installed commands: vitrine, vitrine-cli and vitrine-run"
  version=$("$prefix/bin/vitrine" --version)
  [[ $version == "vitrine "* ]] ||
    { echo "vitrine --version printed '$version'" >&2; exit 1; }
  printf '[[program]]\nname = "a"\ncommand = ["true"]\n' >"$work/one.toml"
  checked=$("$prefix/bin/vitrine" check "$work/one.toml")
  [[ $checked == "ok: 1 program" ]] ||
    { echo "vitrine check printed '$checked'" >&2; exit 1; }
  code=0
  "$prefix/bin/vitrine" status --state-dir "$work/no-run" 2>"$work/status.err" ||
    code=$?
  grep -q "no vitrine state directory at $work/no-run" "$work/status.err" &&
    [[ $code == 1 ]] ||
    { echo "vitrine status: exit $code" >&2; cat "$work/status.err" >&2; exit 1; }
fi

for example in "$source"/examples/*/; do
  name=$(basename "$example")
  step "example $name: configure + build against the install"
  cmake -S "$example" -B "$work/build-$name" -G "$generator" \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_CXX_FLAGS="${sanitize[*]} ${consumer_warnings[*]}" \
    >"$work/$name.log" ||
    { cat "$work/$name.log"; exit 1; }
  cmake --build "$work/build-$name" >>"$work/$name.log" 2>&1 ||
    { cat "$work/$name.log"; exit 1; }
  step "example $name: run"
  timeout 10 "$work/build-$name/$name"
done

step "add_subdirectory: a parent project sees the same target names"
mkdir -p "$work/parent"
cat >"$work/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(parent LANGUAGES CXX)
add_subdirectory("$source" vitrine)
foreach(t vitrine::vitrine vitrine::runtime vitrine::os vitrine::core)
  if(NOT TARGET \${t})
    message(FATAL_ERROR "no target \${t}")
  endif()
endforeach()
add_executable(minimal "$source/examples/minimal/main.cpp")
target_link_libraries(minimal PRIVATE vitrine::vitrine)
CMAKE
# Configure only: building would compile vitrine a second time.
cmake -S "$work/parent" -B "$work/build-parent" -G "$generator" \
  >"$work/parent.log" 2>&1 || { cat "$work/parent.log"; exit 1; }

step "pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
flags=$(pkg-config --cflags --libs vitrine)
echo "$flags"
for lib in -lvitrine_runtime -lcaf_io -lcaf_core -lssl -lpthread; do
  [[ " $flags " == *" $lib "* ]] || { echo "pkg-config lacks $lib" >&2; exit 1; }
done
step "the baselines stay out of the package"
[[ $flags != *urcu* ]] || { echo "pkg-config links liburcu" >&2; exit 1; }
for f in include/vitrine/baseline lib/libvitrine_baseline.a \
         lib/libvitrine_baseline_urcu.a lib/cmake/vitrine/FindURCU.cmake; do
  [[ ! -e $prefix/$f ]] || { echo "installed a baseline: $f" >&2; exit 1; }
done
if grep -rq "URCU::\|vitrine_baseline" "$prefix/lib/cmake/vitrine" ||
   grep -q "vitrine/baseline/" "$prefix/include/vitrine/vitrine.hpp"; then
  echo "the package config or umbrella header uses a baseline" >&2; exit 1
fi
step "example minimal: build with pkg-config flags only"
# shellcheck disable=SC2086
${CXX:-c++} -std=c++20 "${sanitize[@]}" "${consumer_warnings[@]}" \
  "$source/examples/minimal/main.cpp" \
  -o "$work/minimal-pc" $(pkg-config --cflags --libs vitrine)
timeout 10 "$work/minimal-pc" >/dev/null
step "ok"
