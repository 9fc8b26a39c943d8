#!/usr/bin/env bash
# Installs what vitrine needs to build, test and plot, from Debian's
# packages. Idempotent: when everything is present it only checks (~0.1 s).
#
#   scripts/setup.sh           what building, testing and the report need
#   scripts/setup.sh --peers   also supervisord and s6, the peers that
#                              scripts/compare.sh measures (scripts/peers.py)
#
# The peers are opt-in: on a Debian machine with systemd, installing the
# `supervisor` package also enables and starts a system-wide supervisord
# service, which nothing here needs (scripts/peers.py starts its own).
set -euo pipefail

peers=0
for arg in "$@"; do
  case "$arg" in
    --peers) peers=1 ;;
    *) echo "setup.sh: unknown argument '$arg' (expected --peers)" >&2
       exit 2 ;;
  esac
done

packages=(
  g++ cmake ninja-build pkgconf
  libcaf-dev            # CAF 0.17.6, the actor runtime and its middleman
  libssl-dev            # OpenSSL: vitrine's TLS between nodes
  openssl               # the remote tests generate throwaway TLS certificates
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
  heaptrack             # scripts/heap_breakdown.py: live heap per process by call site
)
if ((peers)); then
  packages+=(
    supervisor          # supervisord 4, a peer measured by scripts/peers.py
    s6                  # s6 2.11 (s6-svscan, s6-supervise), the other peer
  )
fi

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
