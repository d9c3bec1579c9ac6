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

"$runnel" kafka dev --brokers 3 --partitions 4 --topic clicks --topic out-windows \
  --topic out-totals --topic out-running --for 600s >"$work/bootstrap" 2>>"$log" &
dev=$!
zombie=
trap 'kill $dev 2>/dev/null || true; [ -z "$zombie" ] || kill -9 $zombie 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
b=$(cat "$work/bootstrap")
[ -n "$b" ] || fail "the development cluster did not start"
awk -v n="$events" 'BEGIN { for (i = 0; i < n; i++) printf "user-%d,%.0f\n", (i * 7919) % 50, 1700000000000 + i }' |
  "$runnel" kafka produce -b "$b" -t clicks 2>>"$log" || fail "producing the input failed"

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
echo "$name: froze the first run after $before committed transactions"

RUNNEL_FAULT_RATE=100000000 "$job" "${flags[@]}" >>"$log" 2>&1 || fail "the restored run failed"
grep -q '^run 1$' "$txlog" || fail "the restored run did not log its epoch"
commits_after_restore=$(sed -n '/^run 1$/,$p' "$txlog" | grep -c '^commit' || true)

kill -CONT "$zombie"
status=0
wait "$zombie" || status=$?
zombie=
cat "$work/zombie.log" >>"$log"
[ "$status" -ne 0 ] || fail "the thawed first run succeeded: it was not fenced"
grep -qi 'fenced' "$work/zombie.log" || fail "the thawed first run failed, but not by fencing"
# Nothing of epoch 0 committed after the restored run began.
if sed -n '/^run 1$/,$p' "$txlog" | grep -q '^commit .* 0$'; then
  fail "the fenced first run committed a transaction after the restore"
fi

for sink in windows totals running; do
  records "$work/ref/$sink" >"$work/ref-$sink.txt"
  "$reader" "$b" "out-$sink" "$txlog" 2>>"$log" | LC_ALL=C sort >"$work/out-$sink.txt" ||
    fail "reading out-$sink failed"
  [ -s "$work/ref-$sink.txt" ] || fail "the reference $sink output is empty"
  if ! cmp -s "$work/ref-$sink.txt" "$work/out-$sink.txt"; then
    diff "$work/ref-$sink.txt" "$work/out-$sink.txt" | head -n 20 >&2 || true
    fail "out-$sink (committed transactions) differs from the uninterrupted run"
  fi
done
reason=$(grep -i -m1 'fenced' "$work/zombie.log" | cut -c1-200)
echo "$name: passed: the restored run committed $commits_after_restore transactions; the thawed first run failed: $reason"
