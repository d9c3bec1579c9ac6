#!/usr/bin/env bash
# Nexmark throughput per core, as the nexmark/nexmark project measures Flink:
# the generator inside the job, a blackhole sink, one core (-p 1), every query,
# in streaming mode with checkpoints every 10 s (memory state) and in batch
# mode. Prints a markdown table beside Flink 1.13's published per-core figures.
#   bash bench/nexmark/run.sh [--events N] [--runnel build/runnel] [--queries "q0 q1"]
set -euo pipefail
events=10000000
runnel=build/runnel
queries="q0 q1 q2 q3 q4 q5 q6 q7 q8 q9 q10 q11 q12 q13 q14 q15 q16 q17 q18 q19 q20 q21 q22"
while [[ $# -gt 0 ]]; do
  case $1 in
    --events) events=$2; shift 2 ;;
    --runnel) runnel=$2; shift 2 ;;
    --queries) queries=$2; shift 2 ;;
    *) echo "run.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done
# Flink 1.13, K events/s per core (nexmark/nexmark README); q6 is not run there.
declare -A flink=([q0]=155 [q1]=158 [q2]=175 [q3]=152 [q4]=34 [q5]=22 [q7]=12 [q8]=146 [q9]=14
  [q10]=58 [q11]=40 [q12]=76 [q13]=131 [q14]=161 [q15]=72 [q16]=19 [q17]=117 [q18]=54 [q19]=44
  [q20]=19 [q21]=98 [q22]=130)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rate() {  # the summary's events per second
  sed -n 's/.* \([0-9]*\) records\/s.*/\1/p' | tail -1
}
echo "events per query: $events, -p 1, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| query | streaming K ev/s | batch K ev/s | Flink K ev/s/core | streaming / Flink |"
echo "|---|---:|---:|---:|---:|"
for q in $queries; do
  s=$("$runnel" nexmark run --query "$q" --events "$events" -p 1 --no-progress --mode streaming \
        --checkpoint-dir "$tmp/chk-$q" --checkpoint-interval 10s 2>&1 | rate)
  b=$("$runnel" nexmark run --query "$q" --events "$events" -p 1 --no-progress --mode batch 2>&1 | rate)
  f=${flink[$q]:-}
  ratio=-
  [[ -n $f ]] && ratio=$(awk -v s="$s" -v f="$f" 'BEGIN { printf "%.1fx", s / 1000 / f }')
  echo "| $q | $((s / 1000)) | $((b / 1000)) | ${f:--} | $ratio |"
done
