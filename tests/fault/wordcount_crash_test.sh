#!/usr/bin/env bash
# Crash test of a file-reading job through the CLI: `runnel run wordcount
# --mode streaming` with checkpoints is killed with SIGKILL at random moments
# and rerun with --restore latest (at changing parallelism); its final output
# must equal one uninterrupted run's. File readers resume from the byte
# offsets their checkpoint recorded, across restores of restores.
#
#   tests/fault/wordcount_crash_test.sh RUNNEL_BINARY [KILLS=10] [WORKDIR]
set -euo pipefail
runnel=$1
kills=${2:-10}
work=${3:-$(mktemp -d)}
name=wordcount_crash_test
rm -rf "$work/in" "$work/ref" "$work/out" "$work/ck"
mkdir -p "$work/in"
log=$work/log.txt
: >"$log"
source "$(dirname "$0")/common.sh"

# 8 files of 100,000 lines of 8 words from 50,000 (about 70 MB): long enough
# to be killed halfway, several splits per file.
for f in 0 1 2 3 4 5 6 7; do
  awk -v seed="$f" 'BEGIN { srand(seed); for (i = 0; i < 100000; i++) {
    line = "w" int(rand() * 50000); for (j = 1; j < 8; j++) line = line " w" int(rand() * 50000); print line } }' \
    >"$work/in/part$f.txt"
done

"$runnel" run wordcount --input "$work/in" --output "$work/ref" --mode streaming --no-progress -p 2 \
  >>"$log" 2>&1 || fail "the reference run failed"

flags=(run wordcount --input "$work/in" --output "$work/out" --mode streaming --no-progress
  --checkpoint-dir "$work/ck" --checkpoint-interval 50ms --restore latest)
k=0
runs=0
while ((k < kills)); do
  runs=$((runs + 1))
  ((runs < 10 * kills)) || fail "could not kill the job $kills times in $runs runs"
  run_and_kill 0.05 0.5 "$runnel" "${flags[@]}" -p $((runs % 3 + 1)) || continue
  k=$((k + 1))
done
"$runnel" "${flags[@]}" -p 2 >>"$log" 2>&1 || fail "the final run failed"

records "$work/ref" >"$work/ref.txt"
records "$work/out" >"$work/out.txt"
[ -s "$work/ref.txt" ] || fail "the reference output is empty"
[ -f "$work/out/_SUCCESS" ] || fail "the output has no _SUCCESS"
if ! cmp -s "$work/ref.txt" "$work/out.txt"; then
  diff "$work/ref.txt" "$work/out.txt" | head -n 20 >&2 || true
  fail "the counts differ from the uninterrupted run"
fi
restores=$(grep -c "restoring checkpoint" "$log" || true)
echo "$name: passed: $kills kills in $runs runs, $restores restores, $(wc -l <"$work/out.txt") words counted as in the uninterrupted run"
