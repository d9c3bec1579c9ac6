#!/usr/bin/env bash
# Two builds of runnel, old and new, on the same work in one run, interleaved
# (old, new, old, new ...) so that the shared machine's noise falls on both:
# every Nexmark query (generator inside, blackhole sink, -p 1, streaming,
# checkpoints every 10 s, memory state unless --backend rocksdb) and the word
# count of a generated corpus (-p 2; --corpus-mb 0 leaves it out). Speed is events (or MiB) over CPU seconds (user + system);
# the table shows each side's median of --runs runs and new/old.
#   bash bench/compare_builds.sh --old DIR --new DIR [--events N] [--runs N]
#        [--queries "q0 q1"] [--corpus-mb N] [--backend memory|rocksdb]
#        [--old-flags "..."] [--new-flags "..."]
# The flags are added to that side's Nexmark runs: one build against itself
# with other flags (--old DIR --new DIR --backend rocksdb --new-flags "--rocksdb-timers memory").
set -euo pipefail
old="" new="" events=5000000 runs=3 corpus_mb=256 backend=memory old_flags="" new_flags=""
queries="q0 q1 q2 q3 q4 q5 q6 q7 q8 q9 q10 q11 q12 q13 q14 q15 q16 q17 q18 q19 q20 q21 q22"
while [[ $# -gt 0 ]]; do
  case $1 in
    --old) old=$2; shift 2 ;;
    --new) new=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --queries) queries=$2; shift 2 ;;
    --corpus-mb) corpus_mb=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --old-flags) old_flags=$2; shift 2 ;;
    --new-flags) new_flags=$2; shift 2 ;;
    *) echo "compare_builds.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done
for b in "$old" "$new"; do
  [[ -n $b && -x $b/runnel && -x $b/bench/wordcount_corpus ]] ||
    { echo "compare_builds.sh: give --old and --new build directories with runnel and bench/wordcount_corpus" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpu() {  # runs "$@", prints its user + system seconds
  /usr/bin/time -f "%U %S" -o "$tmp/time" "$@" > "$tmp/out" 2>&1 ||
    { echo "compare_builds.sh: failed: $*" >&2; tail -5 "$tmp/out" >&2; exit 1; }
  awk '{ print $1 + $2 }' "$tmp/time"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "compare_builds: old $old $old_flags, new $new $new_flags, $(date -u +%Y-%m-%dT%H:%MZ), $runs runs each, interleaved, $backend state"
echo
echo "| work | old | new | new/old |"
echo "|---|---|---|---|"
for q in $queries; do
  : > "$tmp/old" ; : > "$tmp/new"
  for ((i = 0; i < runs; i++)); do
    for side in old new; do
      dir=${!side} flags_var=${side}_flags
      rm -rf "$tmp/ck" "$tmp/state"
      cpu "$dir/runnel" nexmark run --query "$q" --events "$events" -p 1 --no-progress \
        --mode streaming --checkpoint-dir "$tmp/ck" --checkpoint-interval 10s \
        --state-backend "$backend" $([[ $backend == rocksdb ]] && echo --state-dir "$tmp/state") \
        ${!flags_var} >> "$tmp/$side"
    done
  done
  o=$(median < "$tmp/old") n=$(median < "$tmp/new")
  awk -v q="$q" -v o="$o" -v n="$n" -v e="$events" \
    'BEGIN { printf "| nexmark %s (K events/s per core) | %d | %d | %.2f |\n", q, e/o/1000, e/n/1000, o/n }'
done
[[ $corpus_mb -gt 0 ]] || exit 0
"$old/bench/wordcount_corpus" --size-mb "$corpus_mb" "$tmp/corpus.txt" > /dev/null 2>&1
: > "$tmp/old" ; : > "$tmp/new"
for ((i = 0; i < runs; i++)); do
  for side in old new; do
    dir=${!side}
    rm -rf "$tmp/wc"
    cpu "$dir/runnel" run wordcount --input "$tmp/corpus.txt" --output "$tmp/wc" -p 2 --no-progress >> "$tmp/$side"
  done
done
o=$(median < "$tmp/old") n=$(median < "$tmp/new")
awk -v o="$o" -v n="$n" -v mb="$corpus_mb" \
  'BEGIN { printf "| word count %d MiB, -p 2 (MiB/s per core) | %.1f | %.1f | %.2f |\n", mb, mb/o, mb/n, o/n }'
