#!/usr/bin/env bash
# What a standby replica saves at a takeover: a stateful streaming job
# (Nexmark q3, an unwindowed join that keeps every person and auction it saw
# as keyed state, RocksDB backend, checkpoints every second) of one shard, run
# by one member while a second waits as a spare, on the development cluster
# (one shard: a keyed job of several shards sends its records through
# repartition topics, which the development cluster's 5 MB per partition
# cannot hold at this rate). After STATE_S seconds the member running the
# shard is killed with SIGKILL and the spare takes the shard over. Run
# without and with --standby-replicas 1 (the spare then holds a copy).
# Prints the checkpoint's size, the time from the SIGKILL to the shard being
# taken, the time the taker's restore spent finding, reading and checking the
# checkpoint (its log line "read and checked in T ms"), and the whole restore
# (that and every instance's; logged when the taker gives the shard up, 3 s
# later). CK_DIR: where the checkpoints go (default: beside the members'
# state directories; another file system, such as /dev/shm, makes a restore
# without a copy copy the table files instead of linking them).
#
#   bench/scale_out/standby.sh RUNNEL [STATE_S=20] [RATE=1000000] [REPEATS=2] [CK_DIR]
set -euo pipefail
runnel=$(realpath "$1")
state_s=${2:-20}
rate=${3:-1000000}
repeats=${4:-2}
work=$(mktemp -d)
ck=${5:-$work}/bench-ck-$$
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work" "$ck"' EXIT
cd "$work"

topics=()
for r in $(seq "$repeats"); do for replicas in 0 1; do topics+=(--topic "runnel-sb-$r-$replicas-shards"); done; done
"$runnel" kafka dev --for 3600s --partitions 1 "${topics[@]}" >bootstrap 2>dev.log &
for _ in $(seq 100); do [ -s bootstrap ] && break; sleep 0.1; done
b=$(cat bootstrap)
ms() { date +%s%3N; }
echo "Nexmark q3 at $rate events/s for ${state_s} s, RocksDB state, a job of 1 shard, 2 members (one a spare), development cluster at $b"

# takeover RUN REPLICAS: prints "CHECKPOINT_BYTES TAKEN_MS READ_MS FROM"
takeover() {
  local replicas=$2 id="sb-$1-$2" victim= other
  rm -rf "$ck" state-* f-*.log
  for i in 1 2; do
    mkdir -p "state-$i"
    "$runnel" nexmark run --query q3 --events 0 --rate "$rate" --mode streaming -p 1 --no-progress \
      --state-backend rocksdb --state-dir "$work/state-$i" --checkpoint-dir "$ck" \
      --job-id "$id" --bootstrap "$b" --standby-replicas "$replicas" >"out-$i.txt" 2>"f-$i.log" &
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
  if ! eval "kill -9 \$fp$victim" 2>/dev/null; then
    echo "the member running the shard ended before its kill:" >&2
    grep -v rdkafka "f-$victim.log" | tail -n 5 >&2
    exit 1
  fi
  local killed
  killed=$(ms)
  for _ in $(seq 1200); do grep -q "read and checked in" "f-$other.log" && grep -q "shard 0 taken at" "f-$other.log" && break; sleep 0.05; done
  local taken line bytes
  taken=$(grep -o "shard 0 taken at [0-9]*" "f-$other.log" | grep -o "[0-9]*$" | head -1)
  line=$(grep "restoring checkpoint" "f-$other.log" | head -1)
  bytes=$(du -sb --apparent-size "$(ls -d "$ck"/shard-00/chk-* | grep -v inprogress | tail -1)" | cut -f1)
  local read_ms from
  read_ms=$(echo "$line" | sed -n 's/.*read and checked in \([0-9]*\) ms.*/\1/p')
  from=checkpoint-dir
  echo "$line" | grep -q runnel-standby && from=standby-copy
  sleep 3
  eval "kill -TERM \$fp$other"
  eval "wait \$fp$other" || true
  local restore_s
  restore_s=$(sed -n 's/.*restored in \([0-9.]*\) s.*/\1/p' "f-$other.log" | head -1)
  # KEEP_LOGS=DIR keeps the members' logs
  if [ -n "${KEEP_LOGS:-}" ]; then
    mkdir -p "$KEEP_LOGS"
    for i in 1 2; do cp "f-$i.log" "$KEEP_LOGS/$id-member-$i.log"; done
    echo "$killed" >"$KEEP_LOGS/$id-killed-ms"
  fi
  echo "$bytes $((taken - killed)) ${read_ms:-?} ${restore_s:-?} $from"
}

for r in $(seq "$repeats"); do
  for replicas in 0 1; do
    read -r bytes taken read_ms restore_s from < <(takeover "$r" "$replicas")
    echo "run $r, --standby-replicas $replicas: checkpoint $((bytes / 1048576)) MiB; taken $taken ms after the SIGKILL; read and checked in $read_ms ms (from the $from); whole restore $restore_s s"
  done
done
