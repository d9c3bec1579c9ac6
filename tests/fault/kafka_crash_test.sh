#!/usr/bin/env bash
# The crash test with Kafka in and Kafka out, exactly once: a checkpointed
# streaming job reads a topic's history of clicks and writes keyed windows,
# totals and running counts to topics through Kafka transactions. It is
# killed with SIGKILL at random moments and restarted with --restore latest
# (at changing parallelism, so restored jobs also fence producers of instances
# that no longer exist). At the end, what a read_committed consumer would see
# of each output topic (the records of transactions the job's log lists as
# committed: the development cluster does not enforce read_committed itself)
# must equal the output of one uninterrupted run, record for record.
#
# With RUNNEL_KAFKA_FAULTS=INTERVAL (e.g. 500ms) the development cluster also
# injects a broker fault that often (failed produce, fetch, commit and
# transaction requests, leader changes, a broker down for 2 s), and the job
# runs with --restart-attempts: it rides through the faults or restarts itself
# from its latest checkpoint, and the check above must still hold.
#
#   tests/fault/kafka_crash_test.sh RUNNEL_CLI COUNTING_JOB KAFKA_COMMITTED [KILLS=20] [WORKDIR]
set -euo pipefail
runnel=$1
job=$2
reader=$3
kills=${4:-20}
work=${5:-$(mktemp -d)}
events=${RUNNEL_FAULT_EVENTS:-150000}
export RUNNEL_FAULT_RATE=${RUNNEL_FAULT_RATE:-4000}
rm -rf "$work"
mkdir -p "$work"
log=$work/log.txt
: >"$log"
name=${RUNNEL_TEST_NAME:-kafka_crash_test}
faults=${RUNNEL_KAFKA_FAULTS:-}
source "$(dirname "$0")/common.sh"

# The development cluster, for the whole test (8 partitions: the mock keeps
# only about the newest 30k records of a partition).
start_kafka_dev "$runnel" --brokers 3 --partitions 8 --topic clicks --topic out-windows \
  --topic out-totals --topic out-running --for 900s ${faults:+--faults "$faults"}
trap 'kill $dev 2>/dev/null || true' EXIT

# The input: "user,time_ms", in time order.
produce_clicks "$runnel" "$events"

echo "$name: reference run ($events clicks)"
RUNNEL_FAULT_RATE=100000000 "$job" --input "kafka://$b/clicks" --bounded --output "$work/ref" \
  --mode streaming --no-progress -p 2 >>"$log" 2>&1 || fail "the reference run failed"

# Small batches: the paced job then emits output (and meets barriers) steadily,
# so kills land inside open transactions.
flags=(--input "kafka://$b/clicks" --bounded --output "kafka://$b/out" --kafka-exactly-once
  --mode streaming --no-progress --checkpoint-dir "$work/ck" --checkpoint-interval 100ms
  --batch-size 64 --restore latest)
if [ -n "$faults" ]; then
  flags+=(--restart-attempts 1000)
  export RUNNEL_FAIL_ONCE=$work/failed-once  # and one failure of the job's own
fi
k=0
runs=0
finished=0
while ((k < kills)); do
  runs=$((runs + 1))
  p=$((runs % 3 + 1))
  "$job" "${flags[@]}" -p "$p" >>"$log" 2>&1 &
  pid=$!
  random_sleep 0.5 1.5
  if ! kill -9 "$pid" 2>/dev/null; then
    wait "$pid" || fail "run $runs exited with an error before it was killed"
    finished=1
    break
  fi
  wait "$pid" 2>/dev/null || true
  # A kill between the injected failure and the restart it causes leaves no
  # restart to see: the failure is armed again until one is seen.
  if [ -n "$faults" ] && ! grep -q 'restarting from the latest checkpoint' "$log"; then
    rm -f "$RUNNEL_FAIL_ONCE"
  fi
  k=$((k + 1))
done
((k >= kills)) || fail "the job finished after only $k kills; slow it (RUNNEL_FAULT_RATE)"
if ((finished == 0)); then
  echo "$name: final run to the end"
  "$job" "${flags[@]}" -p 2 >>"$log" 2>&1 || fail "the final run failed"
fi

txlog=$work/ck/_kafka_transactions.log
commits=$(grep -c '^commit' "$txlog" || true)
fences=$(grep -c '^fence' "$txlog" || true)
check_committed_topics "$reader" "$txlog"
grep 'kafka_committed' "$log" | tail -n 3 | sed "s/^/$name: /"
restores=$(grep -c "restoring checkpoint" "$log" || true)
skipped=$(grep -c "was not committed before" "$log" || true)
injected=$(grep -c 'runnel kafka dev: fault' "$log" || true)
restarts=$(grep -c 'restarting from the latest checkpoint' "$log" || true)
if [ -n "$faults" ]; then
  [ "$restarts" -ge 1 ] || fail "the job never restarted itself (the injected failure did not happen)"
  echo "$name: $injected broker faults injected; the job restarted itself $restarts times"
fi
echo "$name: passed: $kills kills in $runs runs, $restores restores, $commits transactions committed, $fences producers fenced by rescaled restores, $skipped checkpoints passed over because their transaction was not committed"
