#!/usr/bin/env bash
# Zombie fencing of the exactly-once Kafka sink. A checkpointed job writing
# through Kafka transactions is frozen (SIGSTOP) mid-run, as a process that
# hangs and is presumed dead; a second run restores its latest checkpoint and
# runs to the end. Then the frozen one is thawed (SIGCONT): the restored run
# fenced its producers (same transactional.id, higher epoch), so it must fail
# without committing anything more, and what a read_committed consumer sees
# of the output topics must equal one uninterrupted run, record for record.
#
#   tests/fault/kafka_zombie_test.sh RUNNEL_CLI COUNTING_JOB KAFKA_COMMITTED [WORKDIR]
set -euo pipefail
runnel=$1
job=$2
reader=$3
work=${4:-$(mktemp -d)}
events=30000
rm -rf "$work"
mkdir -p "$work"
log=$work/log.txt
: >"$log"
name=kafka_zombie_test
source "$(dirname "$0")/common.sh"

zombie=
start_kafka_dev "$runnel" --brokers 3 --partitions 4 --topic clicks --topic out-windows \
  --topic out-totals --topic out-running --for 600s
trap 'kill $dev 2>/dev/null || true; [ -z "$zombie" ] || kill -9 $zombie 2>/dev/null || true' EXIT
produce_clicks "$runnel" "$events"

RUNNEL_FAULT_RATE=100000000 "$job" --input "kafka://$b/clicks" --bounded --output "$work/ref" \
  --mode streaming --no-progress -p 2 >>"$log" 2>&1 || fail "the reference run failed"

flags=(--input "kafka://$b/clicks" --bounded --output "kafka://$b/out" --kafka-exactly-once
  --mode streaming --no-progress --checkpoint-dir "$work/ck" --checkpoint-interval 100ms
  --batch-size 64 --restore latest -p 2)
txlog=$work/ck/_kafka_transactions.log
# The first run, paced to about 8 s; frozen once it committed a few transactions.
RUNNEL_FAULT_RATE=4000 "$job" "${flags[@]}" >"$work/zombie.log" 2>&1 &
zombie=$!
for _ in $(seq 200); do
  n=$(grep -c '^commit' "$txlog" 2>/dev/null || true)
  [ "${n:-0}" -ge 6 ] && break
  sleep 0.05
done
kill -STOP "$zombie"
before=$(grep -c '^commit' "$txlog")
# The frozen run's epochs (one per sink) and where the log stood.
zombie_epoch=$(awk '$1 == "run" { print $2 }' "$txlog" | sort -n | tail -n 1)
lines_before=$(wc -l <"$txlog")
echo "$name: froze the first run (epochs up to $zombie_epoch) after $before committed transactions"

RUNNEL_FAULT_RATE=100000000 "$job" "${flags[@]}" >>"$log" 2>&1 || fail "the restored run failed"
since_freeze() { tail -n +$((lines_before + 1)) "$txlog"; }
since_freeze | awk -v z="$zombie_epoch" '$1 == "run" && $2 > z { found = 1 } END { exit !found }' ||
  fail "the restored run did not log a newer epoch"
commits_after_restore=$(since_freeze | grep -c '^commit' || true)

kill -CONT "$zombie"
status=0
wait "$zombie" || status=$?
zombie=
cat "$work/zombie.log" >>"$log"
[ "$status" -ne 0 ] || fail "the thawed first run succeeded: it was not fenced"
grep -qi 'fenced' "$work/zombie.log" || fail "the thawed first run failed, but not by fencing"
# Nothing committed by the frozen run's epochs since it was frozen
# ("commit UID INSTANCE CHECKPOINT EPOCH").
if since_freeze | awk -v z="$zombie_epoch" '$1 == "commit" && $5 <= z { found = 1 } END { exit !found }'; then
  fail "the fenced first run committed a transaction after the restore"
fi

check_committed_topics "$reader" "$txlog"
reason=$(grep -i -m1 'fenced' "$work/zombie.log" | cut -c1-200)
echo "$name: passed: the restored run committed $commits_after_restore transactions; the thawed first run failed: $reason"
