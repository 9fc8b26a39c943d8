#!/usr/bin/env bash
# The comparison command: set up, build the benchmarks (Release), run every
# benchmark binary into results/<binary>.json, then render the tables to the
# terminal and to docs/results.md (plots in docs/img/).
#
#   scripts/compare.sh           full run: 15 repetitions, default min time
#                                (e2e: 5 repetitions), 45-50 min on the
#                                2-vCPU VM with peers (2,633 s of benchmarks
#                                on 2026-11-30, 2,923 s on 2026-12-02)
#   scripts/compare.sh --quick   5 repetitions, 0.05 s min time (e2e: 3
#                                repetitions): a smoke run (5 min 54 s with
#                                --no-peers on 2026-12-02)
#   scripts/compare.sh --peers   also install supervisord and s6 from Debian
#                                (scripts/setup.sh --peers) and measure them
#   scripts/compare.sh --no-peers  skip the peers even when installed
#
# The peers (scripts/peers.py: supervisord, s6 and `vitrine run` on the
# end-to-end workload, into results/peers.json) run by default when
# supervisord or s6 is installed; otherwise the run says so and the report
# has no peers section. At 1,000 programs they add ~6 min to a full run (3
# repetitions) on an idle 2-core machine, ~12 min on a loaded one
# (supervisord starts 1,000 programs in ~20 s there); --quick: one
# repetition.
#
# vitrine_bench_remote (issue 13) forks and spawns its own loopback nodes,
# 4 of them with 1,000 idle programs each; its fleet and frozen-node rows
# set their own repetitions (3 and 7 cycles; VITRINE_REMOTE_QUICK=1 in
# --quick: 1 and 3). It took ~50 s in --quick on the 2-core VM (its
# propagation rows ~9 s a repetition each, the main one and bare_child, so
# ~5 min of a full run).
#
# VITRINE_E2E_PROCESSES (default 1000) sets how many real processes each
# end-to-end fleet supervises, and the peers too (VITRINE_PEERS_N overrides
# it for the peers alone).
#
# Extra arguments after -- go to every benchmark binary, e.g.
#   scripts/compare.sh --quick -- --benchmark_filter='^read/'
# Medians of the repetitions are what report.py uses. The machine this runs
# on should be otherwise idle; the numbers are only comparable within one run.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
peers=auto
extra=()
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --peers) peers=yes ;;
    --no-peers) peers=no ;;
    --) shift; extra=("$@"); break ;;
    *) echo "compare.sh: unknown argument '$1' (expected --quick, --peers," \
            "--no-peers or -- ARGS)" >&2
       exit 2 ;;
  esac
  shift
done

# Benchmark binaries (targets under bench/), in the order they run. Each one
# writes results/<name>.json; scripts/report.py has one section per name.
binaries=(vitrine_bench_core vitrine_bench_messaging vitrine_bench_e2e
          vitrine_bench_status_table vitrine_bench_cli vitrine_bench_remote)
# The design study (issue 15): write their own JSON, rendered into
# docs/study.md by scripts/report_study.py (~40 s full, ~10 s --quick,
# plus ~75 s full for vitrine_bench_study_scale's largest real fleet).
study=(vitrine_bench_study_core vitrine_bench_study_push
       vitrine_bench_study_scale)

if ((quick)); then
  mode=quick
  repetitions=5
  e2e_repetitions=3
  time_args=(--benchmark_min_time=0.05)
else
  mode=full
  repetitions=15
  e2e_repetitions=5
  time_args=()
fi

# The end-to-end benchmark spawns real processes: each start_all repetition
# starts (and stops) VITRINE_E2E_PROCESSES of them per mode, so it gets
# fewer repetitions than the in-process benchmarks.
export VITRINE_E2E_PROCESSES=${VITRINE_E2E_PROCESSES:-1000}

# Arguments for one binary, into the array run_args.
args_for() {
  local reps=$repetitions
  # The JSON keeps only the aggregates, except for e2e: each of its
  # repetitions is costly and report.py takes the largest restart latency
  # over all of them.
  local only=--benchmark_report_aggregates_only=true
  # The in-process rows (sub-ns to us, compared as ratios) run their
  # repetitions in a random order mixed with the other rows': a burst of
  # noise from the shared host (it comes and goes for minutes at a time, and
  # can double a row) then spreads over the rows compared instead of landing
  # on all the repetitions of one of them.
  local order=()
  case "$1" in
    vitrine_bench_core | vitrine_bench_messaging)
      order=(--benchmark_enable_random_interleaving=true
             --benchmark_context=repetition_order=interleaved) ;;
    vitrine_bench_e2e)
      reps=$e2e_repetitions
      only=--benchmark_display_aggregates_only=true ;;
  esac
  run_args=(--benchmark_repetitions="$reps" "${time_args[@]}" "$only"
            "${order[@]}")
}

if [ "$peers" = yes ]; then
  scripts/setup.sh --peers
else
  scripts/setup.sh
fi
report_notes=()
if [ "$peers" = auto ]; then
  if [ -x /usr/bin/supervisord ] || [ -x /usr/bin/s6-svscan ]; then
    peers=yes
  else
    peers=no
    why="supervisord and s6 are not installed (scripts/compare.sh --peers installs them)"
    echo "compare.sh: peers not measured: $why"
    report_notes+=(--note "Peers not measured in this run: $why.")
  fi
elif [ "$peers" = no ]; then
  report_notes+=(--note "Peers not measured in this run (--no-peers).")
fi

build=build/release
jobs=$(nproc)
targets=("${binaries[@]}" "${study[@]}")
if [ "$peers" = yes ]; then
  targets+=(vitrine_cli)  # `vitrine run`, measured next to the peers
fi
echo "=== compare ($mode): configure + build Release in $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DVITRINE_BUILD_TESTS=OFF -DVITRINE_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
# The revision the binaries were built from ("+changes": with uncommitted
# changes to tracked files), for the report: a later render may see
# another HEAD.
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  revision+="+changes"
fi

mkdir -p results
loadavg1() { cut -d' ' -f1 /proc/loadavg; }
# CPU time in clock ticks: busy on the whole machine (user, nice, system,
# irq, softirq, steal), and used by this script's waited-for children (the
# benchmarks and everything they reaped). The difference is other work.
machine_busy_ticks() {
  awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat
}
own_child_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; }

# How the run went, for report.py (the load matters on a shared machine):
# one line per binary with its exit status, seconds and the 1-minute load
# average before and after, plus the highest load sampled every 5 s.
run_info=results/compare_run.tsv
load_samples=$build/load_samples.txt
loadavg1 >"$load_samples"
(while sleep 5; do loadavg1; done) >>"$load_samples" 2>/dev/null &
sampler=$!
busy_before=$(machine_busy_ticks)
own_before=$(own_child_ticks)
wall_before=$EPOCHREALTIME
trap 'kill "$sampler" 2>/dev/null || true' EXIT

failed=()
lines=()
start_all=$SECONDS
for i in "${!binaries[@]}"; do
  name=${binaries[$i]}
  exe=$(find "$build" -type f -name "$name" -perm -u+x | head -n 1)
  if [ -z "$exe" ]; then
    echo "compare.sh: built binary $name not found under $build" >&2
    exit 1
  fi
  args_for "$name"
  env_note=""
  run_env=(VITRINE_REMOTE_QUICK=$quick)
  if [ "$name" = vitrine_bench_e2e ]; then
    # Every restart records when it passed each hop (a clock read per hop,
    # the same in both modes): the report shows where its time goes.
    run_env+=(VITRINE_RESTART_TRACE=1)
    env_note="VITRINE_E2E_PROCESSES=$VITRINE_E2E_PROCESSES VITRINE_RESTART_TRACE=1 "
  elif [ "$name" = vitrine_bench_remote ]; then
    env_note="VITRINE_REMOTE_QUICK=$quick "
  fi
  echo "=== [$((i + 1))/${#binaries[@]}] $env_note$name (${run_args[*]}) ..."
  start=$SECONDS
  load_before=$(loadavg1)
  rm -f "results/$name.json"
  rc=0
  env "${run_env[@]}" "$exe" "${run_args[@]}" "${extra[@]}" \
    --benchmark_out="results/$name.json" --benchmark_out_format=json \
    >"$build/$name.txt" 2>"$build/$name.stderr" || rc=$?
  took=$((SECONDS - start))
  if ((rc)); then
    # Keep going: the other binaries' results are still worth rendering,
    # and report.py marks this one (its JSON may be missing or complete,
    # e.g. when only the teardown crashed).
    failed+=("$name")
    echo "compare.sh: $name exited with status $rc after $took s;" \
         "stderr (tail):" >&2
    tail -n 5 "$build/$name.stderr" >&2
    # Google Benchmark writes the JSON at the end: drop an empty or cut one.
    if ! /usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
        "results/$name.json" 2>/dev/null; then
      rm -f "results/$name.json"
    fi
  fi
  echo "    done in $took s (exit status $rc) -> results/$name.json" \
       "(console table in $build/$name.txt)"
  lines+=("$(printf 'binary\t%s\t%s\t%s\t%s\t%s\t%s' "$name" "$rc" "$took" \
             "$load_before" "$(loadavg1)" \
             "$env_note$exe ${run_args[*]} ${extra[*]}")")
done

# The peers, on the same workload (results/peers.json). A stale file from an
# earlier run would mix runs in the report, so it goes first.
rm -f results/peers.json
if [ "$peers" = yes ]; then
  peer_args=(--vitrine "$build/cli/vitrine" --out results/peers.json)
  if ((quick)); then
    peer_args+=(--reps 1 --restart 15 --restart-slow 3)
  fi
  echo "=== [peers] scripts/peers.py ${peer_args[*]}" \
       "(${VITRINE_PEERS_N:-$VITRINE_E2E_PROCESSES} programs) ..."
  start=$SECONDS
  load_before=$(loadavg1)
  rc=0
  /usr/bin/python3 scripts/peers.py "${peer_args[@]}" || rc=$?
  took=$((SECONDS - start))
  if ((rc)); then
    failed+=(peers)
  fi
  echo "    done in $took s (exit status $rc) -> results/peers.json"
  lines+=("$(printf 'binary\t%s\t%s\t%s\t%s\t%s\t%s' peers "$rc" "$took" \
             "$load_before" "$(loadavg1)" \
             "scripts/peers.py ${peer_args[*]}")")
fi
for name in "${study[@]}"; do
  echo "=== [study] $name ..."
  VITRINE_STUDY_QUICK=$quick "$build/bench/$name" "results/$name.json" \
    >"$build/$name.txt" 2>&1 || failed+=("$name")
done
bench_seconds=$((SECONDS - start_all))
loadavg1 >>"$load_samples"
kill "$sampler" 2>/dev/null || true
# Other work while the benchmarks ran, in % of one core. Kernel threads
# working for the benchmarks (loopback softirqs, cgroup workers) count as
# other work: an upper bound.
foreign_pct=$(awk -v b="$(( $(machine_busy_ticks) - busy_before ))" \
  -v o="$(( $(own_child_ticks) - own_before ))" -v t0="$wall_before" \
  -v t1="$EPOCHREALTIME" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { f = (b - o) / hz / (t1 - t0) * 100; printf "%.1f", f < 0 ? 0 : f }')
{
  printf 'foreign_cpu_pct\t%s\n' "$foreign_pct"
  printf 'mode\t%s\n' "$mode"
  printf 'bench_seconds\t%s\n' "$bench_seconds"
  printf 'load_max\t%s\n' "$(sort -g "$load_samples" | tail -n 1)"
  printf 'load_samples\t%s\n' "$(wc -l <"$load_samples")"
  printf 'e2e_processes\t%s\n' "$VITRINE_E2E_PROCESSES"
  printf 'revision\t%s\n' "$revision"
  printf '%s\n' "${lines[@]}"
} >"$run_info"
echo "=== benchmarks took $bench_seconds s (other work: $foreign_pct% of" \
     "one core; highest 1-min load average" \
     "$(sort -g "$load_samples" | tail -n 1)); rendering the report"

/usr/bin/python3 scripts/report.py results/ --mode "$mode" \
  "${report_notes[@]}"
/usr/bin/python3 scripts/report_study.py results/

if ((${#failed[@]})); then
  echo "compare.sh: FAILED: ${failed[*]} exited with a non-zero status" \
       "(see $build/<name>.stderr)" >&2
  exit 1
fi
