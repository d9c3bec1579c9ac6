#!/usr/bin/env bash
# Crash test (after RocksDB's db_stress): runs a checkpointed streaming job,
# kills it with SIGKILL at random moments, restarts it with --restore latest
# (at changing parallelism, every other time with the RocksDB state backend,
# once with its newest checkpoint damaged on purpose), and checks that the
# published output equals that of one uninterrupted run, record for record:
# nothing lost, nothing twice.
#
#   tests/fault/crash_test.sh JOB_BINARY [KILLS=20] [WORKDIR]
set -euo pipefail
job=$1
kills=${2:-20}
work=${3:-$(mktemp -d)}
export RUNNEL_FAULT_EVENTS=${RUNNEL_FAULT_EVENTS:-200000}
export RUNNEL_FAULT_RATE=${RUNNEL_FAULT_RATE:-50000}
rm -rf "$work/ref" "$work/out" "$work/ck" "$work/state"
mkdir -p "$work"
log=$work/log.txt
: >"$log"

name=crash_test
source "$(dirname "$0")/common.sh"

echo "crash_test: reference run ($RUNNEL_FAULT_EVENTS events)"
"$job" --output "$work/ref" --mode streaming --no-progress -p 2 >>"$log" 2>&1 ||
  fail "the reference run failed"

flags=(--output "$work/out" --mode streaming --no-progress --checkpoint-dir "$work/ck"
  --checkpoint-interval 100ms --restore latest)
corrupted=0
k=0      # runs killed
runs=0
while ((k < kills)); do
  runs=$((runs + 1))
  ((runs < 10 * kills)) || fail "could not kill the job $kills times in $runs runs"
  p=$((runs % 3 + 1))  # parallelism 2, 3, 1, 2, ...: every restore rescales
  # Every other run keeps its keyed state in RocksDB: restores cross backends.
  backend=()
  if ((runs % 2 == 0)); then backend=(--state-backend rocksdb --state-dir "$work/state"); fi
  # Killed at a random moment between 0.15 s and 1.5 s after the start.
  run_and_kill 0.15 1.5 "$job" "${flags[@]}" "${backend[@]}" -p "$p" || continue
  k=$((k + 1))
  # Once, halfway: damage the newest complete checkpoint; the restore must
  # notice and fall back to the one before.
  if ((corrupted == 0 && k >= kills / 2)); then
    complete=$(find "$work/ck" -maxdepth 1 -name 'chk-*' ! -name '*.inprogress' 2>/dev/null | sort)
    newest=$(tail -n 1 <<<"$complete")
    if [ "$(grep -c . <<<"$complete")" -ge 2 ]; then
      victim=$(find "$newest" -name '*.state' -size +0 | sort | tail -n 1)
      if [ -n "$victim" ]; then
        printf '\xff\xfe\xfd\xfc' | dd of="$victim" bs=1 seek=0 conv=notrunc status=none
        corrupted=1
        echo "crash_test: damaged $victim"
        echo "=== damaged $victim" >>"$log"
      fi
    fi
  fi
done

echo "crash_test: final run to the end"
"$job" "${flags[@]}" -p 2 --state-backend rocksdb --state-dir "$work/state" >>"$log" 2>&1 ||
  fail "the final run failed"
if ((corrupted == 1)) && ! grep -q "is not usable" "$log"; then
  fail "the damaged checkpoint was not detected"
fi

for sink in windows totals running; do
  records "$work/ref/$sink" >"$work/ref-$sink.txt"
  records "$work/out/$sink" >"$work/out-$sink.txt"
  n=$(wc -l <"$work/ref-$sink.txt")
  [ "$n" -gt 0 ] || fail "the reference $sink output is empty"
  if ! cmp -s "$work/ref-$sink.txt" "$work/out-$sink.txt"; then
    echo "lost (<) and duplicated (>) records of $sink:" >&2
    diff "$work/ref-$sink.txt" "$work/out-$sink.txt" | head -n 20 >&2 || true
    fail "$sink differs from the uninterrupted run"
  fi
  [ -f "$work/out/$sink/_SUCCESS" ] || fail "$sink has no _SUCCESS"
  if find "$work/out/$sink" -name '.part-*' | grep -q .; then
    fail "$sink still holds pending parts"
  fi
  echo "crash_test: $sink: $n records, equal to the uninterrupted run"
done
restores=$(grep -c "restoring checkpoint" "$log" || true)
echo "crash_test: passed: $kills kills in $runs runs, $restores restores from a checkpoint, damaged checkpoint detected: $corrupted"
