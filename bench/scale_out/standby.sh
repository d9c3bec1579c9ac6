#!/usr/bin/env bash
# What a standby replica saves at a takeover: two members of a stateful
# streaming job (Nexmark q3, an unwindowed join that keeps every person and
# auction it saw as keyed state, RocksDB backend, checkpoints every second,
# 4 shards) on the development cluster; after STATE_S seconds the member that
# runs shard 0 is killed with SIGKILL, and the other takes its shards over.
# Run twice, without and with --standby-replicas 1 (with two members the
# survivor holds a copy of every shard it does not run). Prints, for shard 0:
# the checkpoint's size, the time from the SIGKILL to shard 0 being taken,
# and the time the taker's restore spent finding, reading and checking the
# checkpoint (its log line "read and checked in T ms").
#
#   bench/scale_out/standby.sh RUNNEL [STATE_S=20] [RATE=1000000] [REPEATS=2]
set -euo pipefail
runnel=$(realpath "$1")
state_s=${2:-20}
rate=${3:-1000000}
repeats=${4:-2}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

"$runnel" kafka dev --for 3600s >bootstrap 2>dev.log &
for _ in $(seq 100); do [ -s bootstrap ] && break; sleep 0.1; done
b=$(cat bootstrap)
ms() { date +%s%3N; }
echo "Nexmark q3 at $rate events/s for ${state_s} s, RocksDB state, 2 members, 4 shards, development cluster at $b"

# takeover REPLICAS: prints "CHECKPOINT_BYTES TAKEN_MS READ_MS FROM"
takeover() {
  local replicas=$1 id="standby-$RANDOM$RANDOM" victim= other
  rm -rf ck state-* f-*.log
  for i in 1 2; do
    mkdir -p "state-$i"
    "$runnel" nexmark run --query q3 --events 0 --rate "$rate" --mode streaming -p 1 --no-progress \
      --state-backend rocksdb --state-dir "$work/state-$i" --checkpoint-dir ck \
      --job-id "$id" --bootstrap "$b" --standby-replicas "$replicas" 2>"f-$i.log" &
    eval "fp$i=$!"
  done
  for _ in $(seq 600); do
    for i in 1 2; do grep -q "shard 0 taken at" "f-$i.log" && victim=$i; done
    [ -n "$victim" ] && break
    sleep 0.05
  done
  [ -n "$victim" ] || { echo "no member took shard 0" >&2; exit 1; }
  other=$((3 - victim))
  sleep "$state_s"
  if [ "$replicas" -gt 0 ]; then
    for _ in $(seq 200); do grep -q "standby copy of shard 0:" "f-$other.log" && break; sleep 0.1; done
  fi
  eval "kill -9 \$fp$victim"
  local killed
  killed=$(ms)
  for _ in $(seq 1200); do grep -q "read and checked in" "f-$other.log" && grep -q "shard 0 taken at" "f-$other.log" && break; sleep 0.05; done
  local taken line bytes
  taken=$(grep -o "shard 0 taken at [0-9]*" "f-$other.log" | grep -o "[0-9]*$" | head -1)
  # shard 0's restore line (its job name ends in shard-00)
  line=$(grep "shard-00.*restoring checkpoint" "f-$other.log" | head -1)
  bytes=$(du -sb --apparent-size "$(ls -d ck/shard-00/chk-* | grep -v inprogress | tail -1)" | cut -f1)
  local read_ms from
  read_ms=$(echo "$line" | sed -n 's/.*read and checked in \([0-9]*\) ms.*/\1/p')
  from=checkpoint-dir
  echo "$line" | grep -q runnel-standby && from=standby-copy
  echo "$bytes $((taken - killed)) ${read_ms:-?} $from"
  eval "kill -TERM \$fp$other"
  eval "wait \$fp$other" || true
}

for r in $(seq "$repeats"); do
  for replicas in 0 1; do
    read -r bytes taken read_ms from < <(takeover "$replicas")
    echo "run $r, --standby-replicas $replicas: shard 0's checkpoint $((bytes / 1048576)) MiB; taken $taken ms after the SIGKILL; restore read and checked it in $read_ms ms (from the $from)"
  done
done
