#!/usr/bin/env bash
# Installs what vitrine needs to build, test and plot, from Debian's
# packages. Idempotent: when everything is present it only checks (~0.1 s).
set -euo pipefail

packages=(
  g++ cmake ninja-build pkgconf
  libcaf-dev            # CAF 0.17.6, the actor runtime
  liburcu-dev           # liburcu memb: the reclamation scheme we measure against
  catch2                # Catch2 2.13, tests
  libbenchmark-dev      # Google Benchmark
  libtomlplusplus-dev   # the CLI's config files
  libcli11-dev          # the CLI's arguments
  nlohmann-json3-dev    # JSON output of the CLI and of the result reports
  python3-matplotlib    # plots in docs/
  clang libclang-rt-14-dev  # libFuzzer for the config parser's fuzz target
  doxygen               # the API reference (scripts/apidoc.sh)
  python3               # the docs check (tests/docs/check_docs.py)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
