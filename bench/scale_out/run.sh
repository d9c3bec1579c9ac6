#!/usr/bin/env bash
# A job spread over members (--job-id) against the same job in one process,
# on the development cluster: a Nexmark query (q1 by default, element-wise: a
# currency conversion of every bid; a keyed one such as q17 sends its records
# between the members through repartition topics) over EVENTS generated
# events in batch mode, sink blackhole, a job of 4 shards, run
#   - in one process at -p 4 (the baseline, no --job-id),
#   - as 1, 2 and 4 members at -p 1 each (a member runs each shard it owns as
#     a pipeline of its own, so the job's total parallelism is 4 in each),
# and the time from a member's SIGKILL to its shard being taken by another.
# Throughput is events per second of wall time, from the first member's
# start to the last one's exit (topic creation and group joins included), and
# over the members' processing window (first shard taken to last shard done,
# from their logs); each beside the one-process run as a ratio.
#
#   bench/scale_out/run.sh RUNNEL [EVENTS=20000000] [RUNS=3] [QUERY=q1] [FAILOVER=1]
#                          [SESSION_MS=6000]
# (RUNS=0 measures the failover alone; SESSION_MS is the members'
# session.timeout.ms there.)
set -euo pipefail
runnel=$(realpath "$1")
events=${2:-20000000}
runs=${3:-3}
query=${4:-q1}
failover=${5:-1}
session_ms=${6:-6000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

"$runnel" kafka dev --for 3600s >bootstrap 2>dev.log &
for _ in $(seq 100); do [ -s bootstrap ] && break; sleep 0.1; done
b=$(cat bootstrap)
echo "Nexmark $query, $events events, batch mode, 4 shards, development cluster at $b"

ms() { date +%s%3N; }
q1=(nexmark run --query "$query" --events "$events" --mode batch --no-progress)

one_process() {
  local t0
  t0=$(ms)
  "$runnel" "${q1[@]}" -p 4 2>>log.txt || { echo "the one-process run failed:" >&2; tail -n 20 log.txt >&2; exit 1; }
  echo $(($(ms) - t0))
}

# members N: N members at -p 1; prints "WALL_MS WINDOW_MS"
members() {
  local n=$1 id="bench-$RANDOM$RANDOM" pids=() t0
  rm -f m-*.log
  t0=$(ms)
  for i in $(seq "$n"); do
    "$runnel" "${q1[@]}" -p 1 --job-id "$id" --bootstrap "$b" 2>"m-$i.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do
    wait "$p" || { echo "a member failed:" >&2; grep -hv rdkafka m-*.log | tail -n 20 >&2; exit 1; }
  done
  local wall=$(($(ms) - t0))
  local window
  window=$(cat m-*.log | python3 -c '
import re, sys
taken, done = [], []
for line in sys.stdin:
    m = re.search(r"shard \d+ (taken|done) at (\d+) ms", line)
    if m:
        (taken if m.group(1) == "taken" else done).append(int(m.group(2)))
print(max(done) - min(taken))')
  echo "$wall $window"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
for r in $(seq "$runs"); do
  base=$(one_process)
  line="run $r: one process -p 4: $base ms ($((events * 1000 / base)) events/s)"
  for n in 1 2 4; do
    read -r wall window < <(members "$n")
    line+="; $n member(s): wall $wall ms ($(ratio "$base" "$wall")x), window $window ms ($(ratio "$base" "$window")x)"
  done
  echo "$line"
done

[ "$failover" = 1 ] || exit 0
# Failover: two members of an unbounded, paced streaming job (Nexmark q1 from
# the generator, checkpoints every second); the one that took shard 0 is
# killed with SIGKILL, and the time until the other takes shard 0 is printed.
id="failover-$RANDOM$RANDOM"
for i in 1 2; do
  "$runnel" nexmark run --query q1 --events 0 --rate 20000 --mode streaming -p 1 --no-progress \
    --checkpoint-dir ck --job-id "$id" --bootstrap "$b" \
    --kafka-property "session.timeout.ms=$session_ms" 2>"f-$i.log" &
  eval "fp$i=$!"
done
victim=
for _ in $(seq 600); do
  for i in 1 2; do grep -q "shard 0 taken at" "f-$i.log" && victim=$i; done
  [ -n "$victim" ] && break
  sleep 0.05
done
[ -n "$victim" ] || { echo "no member took shard 0"; exit 1; }
sleep 2
eval "kill -9 \$fp$victim"
killed=$(ms)
other=$((3 - victim))
for _ in $(seq 600); do grep -q "shard 0 taken at" "f-$other.log" && break; sleep 0.05; done
taken=$(grep -o "shard 0 taken at [0-9]*" "f-$other.log" | grep -o "[0-9]*$" | head -1)
echo "failover: shard 0 taken by the other member $((taken - killed)) ms after the SIGKILL (session.timeout.ms $session_ms, no standby replicas)"
eval "kill -TERM \$fp$other"
eval "wait \$fp$other" || true
