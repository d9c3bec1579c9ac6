#!/usr/bin/env bash
# Nexmark throughput per core, as the nexmark/nexmark project measures Flink:
# the generator inside the job, a blackhole sink, one core (-p 1), every query,
# in streaming mode with checkpoints every 10 s (memory state, and RocksDB
# state for the stateful queries) and in batch mode. Prints a markdown table
# beside Flink 1.13's and RisingWave's published per-core figures and, as the baseline
# measured in the same run, a plain loop that only generates the events
# (bench/nexmark/baseline.cpp): no query can be faster than its generator.
#   bash bench/nexmark/run.sh [--events N] [--build DIR] [--queries "q0 q1"] [--no-rocksdb]
set -euo pipefail
events=10000000
build=build
queries="q0 q1 q2 q3 q4 q5 q6 q7 q8 q9 q10 q11 q12 q13 q14 q15 q16 q17 q18 q19 q20 q21 q22"
rocksdb=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --events) events=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --queries) queries=$2; shift 2 ;;
    --no-rocksdb) rocksdb=0; shift ;;
    *) echo "run.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done
runnel=$build/runnel
baseline=$build/bench/nexmark_baseline
for exe in "$runnel" "$baseline"; do
  [[ -x $exe ]] || { echo "run.sh: $exe is missing: cmake --build $build --target runnel nexmark_baseline" >&2; exit 2; }
done
# Flink 1.13, K events/s per core (nexmark/nexmark README); q6 is not run there.
declare -A flink=([q0]=155 [q1]=158 [q2]=175 [q3]=152 [q4]=34 [q5]=22 [q7]=12 [q8]=146 [q9]=14
  [q10]=58 [q11]=40 [q12]=76 [q13]=131 [q14]=161 [q15]=72 [q16]=19 [q17]=117 [q18]=54 [q19]=44
  [q20]=19 [q21]=98 [q22]=130)
# RisingWave nightly-20230309, "Throughput/core (kr/s)" of its docs' Nexmark page
# (docs.risingwave.com/get-started/rw-benchmarks-stream-processing; 8 vCPU, Kafka
# source, blackhole sink); it lists none for q6, q11, q12, q13, q19.
declare -A risingwave=([q0]=118.41 [q1]=119.37 [q2]=127.36 [q3]=97.358 [q4]=13.923
  [q5]=5.2249 [q7]=20.348 [q8]=60.732 [q9]=8.2208 [q10]=106.15 [q14]=45.371 [q15]=78.525
  [q16]=8.0565 [q17]=17.314 [q18]=9.8455 [q20]=12.726 [q21]=89.377 [q22]=110.5)
# Queries that keep no keyed state (maps, filters, a side-input lookup): no RocksDB run.
stateless=" q0 q1 q2 q10 q13 q14 q21 q22 "
# Queries with an operator that cannot be checkpointed yet: streaming without
# checkpoints, marked so in the table. (None since side inputs take part.)
no_checkpoints=" "
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rate() {  # the summary's events per second
  sed -n 's/.* \([0-9]*\) records\/s.*/\1/p' | head -1
}
# One run: prints "K events/s per core" and "cores used". Per core is events
# over the CPU time the process used (user + system, all threads), as the
# Nexmark project divides throughput by cores; cores used is CPU time over
# wall time. The full output is kept in $tmp/last.log.
run() {
  /usr/bin/time -f "%e %U %S" -o "$tmp/time.log" \
    "$runnel" nexmark run --events "$events" -p 1 --no-progress "$@" > "$tmp/last.log" 2>&1 || {
    echo "run.sh: runnel nexmark run $* failed:" >&2; tail -5 "$tmp/last.log" >&2; exit 1; }
  grep -q ' records/s' "$tmp/last.log" || { echo "run.sh: no rate in the output of $*" >&2; exit 1; }
  awk -v n="$events" '{ cpu = $2 + $3; printf "%d %.2f\n", n / cpu / 1000, cpu / $1 }' "$tmp/time.log"
}
echo "events per query: $events, -p 1, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?')"
"$baseline" --events "$events" > "$tmp/baseline.log"
gen=$(( $(grep '^generator' "$tmp/baseline.log" | rate) / 1000 ))
handq0=$(( $(grep '^q0' "$tmp/baseline.log" | rate) / 1000 ))
echo "baseline (plain loop, one thread, same run): generator alone $gen K events/s; q0 by hand $handq0 K events/s"
echo
echo "K events/s per core: events / CPU seconds of the whole process (cores used: CPU / wall time)."
echo
echo "| query | streaming | cores used | streaming, RocksDB | batch | Flink | streaming / Flink | RisingWave | streaming / RisingWave | streaming / generator alone |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for q in $queries; do
  note=
  if [[ $no_checkpoints == *" $q "* ]]; then
    read -r s cores < <(run --query "$q" --mode streaming)
    note=" (no checkpoints)"
  else
    read -r s cores < <(run --query "$q" --mode streaming --checkpoint-dir "$tmp/chk-$q" --checkpoint-interval 10s)
    rm -rf "$tmp/chk-$q"
  fi
  r=-
  if [[ $rocksdb == 1 && $stateless != *" $q "* ]]; then
    read -r r _ < <(run --query "$q" --mode streaming --checkpoint-dir "$tmp/chk-$q" \
          --checkpoint-interval 10s --state-backend rocksdb --state-dir "$tmp/state-$q")
    rm -rf "$tmp/chk-$q" "$tmp/state-$q"
  fi
  read -r b _ < <(run --query "$q" --mode batch)
  f=${flink[$q]:-}
  ratio=-
  [[ -n $f ]] && ratio=$(awk -v s="$s" -v f="$f" 'BEGIN { printf "%.1fx", s / f }')
  rw=${risingwave[$q]:-}
  rw_ratio=-
  [[ -n $rw ]] && rw_ratio=$(awk -v s="$s" -v f="$rw" 'BEGIN { printf "%.1fx", s / f }')
  vs_gen=$(awk -v s="$s" -v g="$gen" 'BEGIN { printf "%.2f", s / g }')
  echo "| $q | $s$note | $cores | $r | $b | ${f:--} | $ratio | ${rw:--} | $rw_ratio | $vs_gen |"
done
