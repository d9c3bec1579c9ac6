#!/usr/bin/env bash
# Graceful stop: SIGTERM to a checkpointed streaming job with file sinks
# takes a final checkpoint, commits the output up to it and exits 0; a
# restore from it runs to the end; the output then equals one uninterrupted
# run's, nothing lost, nothing twice. Then SIGINT to a job without
# checkpoints: its sources end there, every window fires and the output is
# committed (exit 0, a _SUCCESS marker). A second signal exits at once.
#
#   tests/fault/signal_test.sh COUNTING_JOB [WORKDIR]
set -euo pipefail
job=$1
work=${2:-$(mktemp -d)}
export RUNNEL_FAULT_EVENTS=150000
export RUNNEL_FAULT_RATE=30000
rm -rf "$work"
mkdir -p "$work"
log=$work/log.txt
: >"$log"
name=signal_test
source "$(dirname "$0")/common.sh"

RUNNEL_FAULT_RATE=100000000 "$job" --output "$work/ref" --mode streaming --no-progress -p 2 \
  >>"$log" 2>&1 || fail "the reference run failed"

flags=(--output "$work/out" --mode streaming --no-progress --checkpoint-dir "$work/ck"
  --checkpoint-interval 200ms -p 2)
"$job" "${flags[@]}" >"$work/first.log" 2>&1 &
pid=$!
sleep 2
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
cat "$work/first.log" >>"$log"
[ "$status" -eq 0 ] || fail "the stopped run exited with $status"
grep -q "stopped on request" "$work/first.log" || fail "the run did not say it stopped"
[ ! -f "$work/out/windows/_SUCCESS" ] || fail "a stopped run marked its output complete"
before=$(records "$work/out/windows" | wc -l)
((before > 0)) || fail "the stopped run committed nothing"

"$job" "${flags[@]}" --restore latest >>"$log" 2>&1 || fail "the restored run failed"
for sink in windows totals running; do
  records "$work/ref/$sink" >"$work/ref-$sink.txt"
  records "$work/out/$sink" >"$work/out-$sink.txt"
  if ! cmp -s "$work/ref-$sink.txt" "$work/out-$sink.txt"; then
    diff "$work/ref-$sink.txt" "$work/out-$sink.txt" | head -n 20 >&2 || true
    fail "$sink after stop and restore differs from the uninterrupted run"
  fi
done
echo "$name: SIGTERM: $before window records committed at the stop; after the restore the output equals the uninterrupted run"

# A savepoint on SIGUSR1 while the job goes on, then SIGTERM with --drain:
# every window fires, the output is committed, and the final checkpoint (a
# savepoint too) holds where the sources stopped. A run from that savepoint,
# into a new checkpoint directory and a new output directory (its sinks are
# new ones: --allow-non-restored-state drops the old sinks' state), reads on
# from there: each total's clicks over both runs are the uninterrupted run's.
sp_flags=(--output "$work/sp" --mode streaming --no-progress --checkpoint-dir "$work/sp-ck"
  --checkpoint-interval 200ms -p 2 --savepoint-dir "$work/savepoints")
"$job" "${sp_flags[@]}" --drain >"$work/sp1.log" 2>&1 &
pid=$!
sleep 1
kill -USR1 "$pid"
sleep 1
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
cat "$work/sp1.log" >>"$log"
[ "$status" -eq 0 ] || fail "the drained run with savepoints exited with $status"
taken=$(find "$work/savepoints" -mindepth 1 -maxdepth 1 -name 'savepoint-*' | wc -l)
[ "$taken" -eq 2 ] || fail "$taken savepoints, not 2 (SIGUSR1's and the stop's)"
last=$(sed -n 's/.*--restore \([^ ]*savepoint-[0-9]*\) continues from there.*/\1/p' "$work/sp1.log" | tail -n 1)
[ -n "$last" ] && [ -d "$last" ] || fail "the stop did not name its savepoint"
[ -f "$work/sp/totals/_SUCCESS" ] || fail "the drained run did not commit its output"
cp -r "$work/sp/totals" "$work/sp-first-totals"
status=0
"$job" --output "$work/sp-refused" --mode streaming --no-progress --checkpoint-dir "$work/sp-ck3" \
  -p 2 --restore "$last" >"$work/refused.log" 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "restoring state nothing takes: exit $status, not 2"
grep -q "holds state for uid .*write text.*--allow-non-restored-state" "$work/refused.log" ||
  fail "the refusal did not name the uid and the flag: $(cat "$work/refused.log")"
"$job" --output "$work/sp2" --mode streaming --no-progress --checkpoint-dir "$work/sp-ck2" -p 2 \
  --restore "$last" --allow-non-restored-state >>"$log" 2>&1 || fail "the run from the savepoint failed"
sum_totals() { for d in "$@"; do records "$d"; done | awk -F, '{ s[$1] += $2 } END { for (k in s) print k "," s[k] }' | sort; }
sum_totals "$work/ref/totals" >"$work/sp-ref.txt"
sum_totals "$work/sp-first-totals" "$work/sp2/totals" >"$work/sp-both.txt"
cmp -s "$work/sp-ref.txt" "$work/sp-both.txt" || {
  diff "$work/sp-ref.txt" "$work/sp-both.txt" | head -n 20 >&2 || true
  fail "totals of the drained run and the run from its savepoint differ from the uninterrupted run"
}
echo "$name: SIGUSR1 took a savepoint, SIGTERM --drain another; from it the totals add up to the uninterrupted run's"

# Without checkpoints: the sources end at the signal, and what was read is complete output.
"$job" --output "$work/drain" --mode streaming --no-progress -p 2 >"$work/drain.log" 2>&1 &
pid=$!
sleep 2
kill -INT "$pid"
status=0
wait "$pid" || status=$?
cat "$work/drain.log" >>"$log"
[ "$status" -eq 0 ] || fail "the drained run exited with $status"
[ -f "$work/drain/windows/_SUCCESS" ] || fail "the drained run did not commit its output"
drained=$(records "$work/drain/totals" | awk -F, '{ s += $2 } END { print s + 0 }')
((drained > 0 && drained < RUNNEL_FAULT_EVENTS)) || fail "drained totals count $drained clicks"
echo "$name: SIGINT without checkpoints: the job ended early with $drained clicks counted and committed"

# Two signals: the second exits at once. (Both delivered together: the job
# is frozen while they arrive; two different signals are not merged.)
"$job" --output "$work/twice" --mode streaming --no-progress -p 2 --checkpoint-dir "$work/ck2" \
  >"$work/twice.log" 2>&1 &
pid=$!
sleep 1
kill -STOP "$pid"
kill -INT "$pid"
kill -TERM "$pid"
kill -CONT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 130 ] || { cat "$work/twice.log" >>"$log"; fail "two signals: exit $status, not 130"; }
echo "$name: passed"
