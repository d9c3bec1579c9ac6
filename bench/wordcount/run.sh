#!/usr/bin/env bash
# bench/wordcount: runnel's word count against a plain C++ program and
# tr | sort | uniq -c, then a group-by that spills. See docs/benchmarks.md.
#
#   bench/wordcount/run.sh [--size-mb N] [--build-dir DIR] [--runs N] [--tr-runs N]
#                          [--spill-mb N] [--spill-p N] [--work-dir DIR] [--skip-tr]
# Every flag has an environment variable twin (flags win):
#   SIZE_MB     corpus size in MiB (default 512)
#   BUILD_DIR   the CMake build directory with runnel and bench/* (default build)
#   RUNS        runs of runnel p1, runnel p2 and the baseline; the table shows the
#               median time and the highest peak RSS of the runs (default 3)
#   TR_RUNS     runs of the tr | sort | uniq -c pipeline (default 1: it is slow)
#   SPILL_MB    input of the group-by in MiB; its memory budget is a quarter of it (default 256)
#   SPILL_P     parallelism of the group-by runs (default 2)
#   WORK_DIR    where the corpus, outputs and the report go (default BUILD_DIR/bench-wordcount)
#   SKIP_TR=1   leave out the tr pipeline (for quick checks; the report says so)
#
# Build first (Release):
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
#   cmake --build build --target bench_wordcount
# The markdown report goes to stdout and to WORK_DIR/report.md; progress to stderr.
# Exit code 0 when every run succeeded and every output checked out (missing a
# performance target is reported, not an error), 1 otherwise, 2 on bad usage.
set -euo pipefail

die() {
  echo "run.sh: error: $*" >&2
  exit 1
}
note() { echo "run.sh: $*" >&2; }

SIZE_MB=${SIZE_MB:-512}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
TR_RUNS=${TR_RUNS:-1}
SPILL_MB=${SPILL_MB:-256}
SPILL_P=${SPILL_P:-2}
SKIP_TR=${SKIP_TR:-0}
WORK_DIR=${WORK_DIR:-}

usage() {
  sed -n '5,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --size-mb) SIZE_MB=${2:?--size-mb needs a value}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs a value}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --tr-runs) TR_RUNS=${2:?--tr-runs needs a value}; shift 2 ;;
    --spill-mb) SPILL_MB=${2:?--spill-mb needs a value}; shift 2 ;;
    --spill-p) SPILL_P=${2:?--spill-p needs a value}; shift 2 ;;
    --work-dir) WORK_DIR=${2:?--work-dir needs a value}; shift 2 ;;
    --skip-tr) SKIP_TR=1; shift ;;
    -h | --help) usage ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
for v in SIZE_MB RUNS TR_RUNS SPILL_MB SPILL_P; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: $v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
(( SPILL_MB >= 4 )) || { echo "run.sh: SPILL_MB must be at least 4" >&2; exit 2; }

# --- tools and binaries -------------------------------------------------------

TIME=/usr/bin/time
[[ -x $TIME ]] || die "$TIME is missing: it is GNU time, Debian package 'time' (sudo apt-get install time)"
"$TIME" -f '%e %M' -o /dev/null true 2>/dev/null || die "$TIME does not take -f/-o: GNU time is needed (Debian package 'time')"
for tool in tr sort uniq awk cmp nproc; do
  command -v "$tool" >/dev/null || die "'$tool' is not on PATH"
done

[[ -d $BUILD_DIR ]] || die "build directory '$BUILD_DIR' does not exist; build with:
  cmake -S . -B $BUILD_DIR -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD_DIR --target bench_wordcount"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
RUNNEL=$BUILD_DIR/runnel
BASELINE=$BUILD_DIR/bench/wordcount_baseline
CORPUS_GEN=$BUILD_DIR/bench/wordcount_corpus
GROUPBY=$BUILD_DIR/bench/groupby_spill
for b in "$RUNNEL" "$BASELINE" "$CORPUS_GEN" "$GROUPBY"; do
  [[ -x $b ]] || die "'$b' is missing; build it with: cmake --build $BUILD_DIR --target bench_wordcount"
done
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
case ${BUILD_TYPE:-unknown} in
  Release | RelWithDebInfo) ;;
  *) note "warning: '$BUILD_DIR' is a '${BUILD_TYPE:-unknown}' build; configure with -DCMAKE_BUILD_TYPE=Release for numbers that mean something" ;;
esac

WORK_DIR=${WORK_DIR:-$BUILD_DIR/bench-wordcount}
mkdir -p "$WORK_DIR"
WORK_DIR=$(cd "$WORK_DIR" && pwd)
export LC_ALL=C          # byte-wise tr and sort, the same on every machine
export TMPDIR=$WORK_DIR/tmp   # sort's and runnel's temporary files
mkdir -p "$TMPDIR"

# --- helpers ------------------------------------------------------------------

# timed LABEL ERRFILE CMD...: runs CMD under GNU time (its stderr to ERRFILE),
# appends "seconds peak_rss_kib" to $WORK_DIR/times/LABEL.
timed() {
  local label=$1 errfile=$2 tf rc=0
  shift 2
  tf=$WORK_DIR/times/.last
  mkdir -p "$WORK_DIR/times"
  "$TIME" -f '%e %M' -o "$tf" "$@" 2>"$errfile" || rc=$?
  if (( rc != 0 )); then
    echo "run.sh: error: $label failed with exit code $rc: $*" >&2
    tail -n 20 "$errfile" >&2
    exit 1
  fi
  tail -n 1 "$tf" >>"$WORK_DIR/times/$label"
}

# median_secs LABEL / max_rss_mib LABEL: over the runs recorded for LABEL.
median_secs() { sort -n -k1,1 "$WORK_DIR/times/$1" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
max_rss_mib() { awk '$2 > m { m = $2 } END { printf "%.0f", m / 1024 }' "$WORK_DIR/times/$1"; }
all_secs() { awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }' "$WORK_DIR/times/$1"; }
fmt() { awk -v x="$1" -v f="$2" 'BEGIN { printf f, x }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }

# A CSV output directory of runnel, sorted, into FILE; checks _SUCCESS.
sorted_runnel_output() {
  local dir=$1 out=$2
  [[ -f $dir/_SUCCESS ]] || die "'$dir' has no _SUCCESS marker"
  compgen -G "$dir/part-*.csv" >/dev/null || die "'$dir' has no part-*.csv files"
  cat "$dir"/part-*.csv | sort >"$out"
}

same_or_die() {
  local what=$1 a=$2 b=$3
  if ! cmp -s "$a" "$b"; then
    echo "run.sh: error: $what: '$a' and '$b' differ:" >&2
    diff "$a" "$b" | head -n 10 >&2 || true
    exit 1
  fi
}

# --- the machine --------------------------------------------------------------

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
NPROC=$(nproc)
MEM_GIB=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo "?")
COMMIT=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
rm -rf "$WORK_DIR/times"

# --- the corpus ---------------------------------------------------------------

CORPUS=$WORK_DIR/corpus-${SIZE_MB}MiB.txt
if [[ ! -s $CORPUS || $CORPUS_GEN -nt $CORPUS ]]; then
  note "generating a ${SIZE_MB} MiB corpus into $CORPUS"
  rm -f "$CORPUS"
  "$CORPUS_GEN" --size-mb "$SIZE_MB" "$CORPUS.partial" 2>"$WORK_DIR/corpus.log" ||
    { cat "$WORK_DIR/corpus.log" >&2; die "the corpus generator failed"; }
  mv "$CORPUS.partial" "$CORPUS"
  cat "$WORK_DIR/corpus.log" >&2
else
  note "reusing $CORPUS"
fi
CORPUS_BYTES=$(stat -c %s "$CORPUS")
CORPUS_MIB=$(awk -v b="$CORPUS_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
cat "$CORPUS" >/dev/null   # into the page cache: every contender reads from memory

# --- word count -----------------------------------------------------------------

OUT=$WORK_DIR/out
rm -rf "$OUT"
mkdir -p "$OUT"

run_runnel() {
  local p=$1
  rm -rf "$OUT/runnel-p$p"
  timed "runnel-p$p" "$OUT/runnel-p$p.stderr" \
    "$RUNNEL" run wordcount --input "$CORPUS" --output "$OUT/runnel-p$p" -p "$p" --no-progress
}

# Round robin, so that a burst of load elsewhere hits every contender alike.
for ((r = 1; r <= RUNS; r++)); do
  note "round $r of $RUNS: baseline, runnel -p 1, runnel -p 2"
  timed baseline "$OUT/baseline.stderr" "$BASELINE" "$CORPUS" "$OUT/baseline.csv"
  run_runnel 1
  run_runnel 2
done
if [[ $SKIP_TR != 1 ]]; then
  for ((r = 1; r <= TR_RUNS; r++)); do
    note "tr | sort | uniq -c, run $r of $TR_RUNS"
    # shellcheck disable=SC2016  # $1 and $2 are the inner shell's
    timed tr "$OUT/tr.stderr" bash -c 'set -o pipefail; tr -cs "A-Za-z0-9" "\n" <"$1" | tr A-Z a-z | sort | uniq -c >"$2"' \
      tr-pipeline "$CORPUS" "$OUT/tr.txt"
  done
fi

note "checking the outputs"
sort "$OUT/baseline.csv" >"$OUT/baseline.sorted"
[[ -s $OUT/baseline.sorted ]] || die "the baseline counted no words"
for p in 1 2; do
  sorted_runnel_output "$OUT/runnel-p$p" "$OUT/runnel-p$p.sorted"
  same_or_die "runnel -p $p vs the baseline" "$OUT/runnel-p$p.sorted" "$OUT/baseline.sorted"
  if grep -q 'spilled' "$OUT/runnel-p$p.stderr"; then
    note "warning: runnel -p $p spilled during the word count (its default 1 GiB budget is too small?): $(grep ' done (' "$OUT/runnel-p$p.stderr")"
  fi
done
if [[ $SKIP_TR != 1 ]]; then
  # "  count word" -> "word,count"; an empty word (the corpus starting with a separator) is no word.
  awk 'NF == 2 { print $2 "," $1 }' "$OUT/tr.txt" | sort >"$OUT/tr.sorted"
  same_or_die "tr | sort | uniq -c vs the baseline" "$OUT/tr.sorted" "$OUT/baseline.sorted"
fi
DISTINCT=$(wc -l <"$OUT/baseline.sorted")
WORDS=$(awk -F, '{ n += $2 } END { printf "%d", n }' "$OUT/baseline.sorted")
note "outputs agree: $WORDS words, $DISTINCT distinct"

# --- group-by with spill ----------------------------------------------------------

SPILL_IN=$WORK_DIR/groupby-${SPILL_MB}MiB.csv
if [[ ! -s $SPILL_IN || $GROUPBY -nt $SPILL_IN ]]; then
  note "generating a ${SPILL_MB} MiB group-by input into $SPILL_IN"
  rm -f "$SPILL_IN"
  "$GROUPBY" generate "$SPILL_IN.partial" --size-mb "$SPILL_MB" 2>"$WORK_DIR/groupby-gen.log" ||
    { cat "$WORK_DIR/groupby-gen.log" >&2; die "the group-by input generator failed"; }
  mv "$SPILL_IN.partial" "$SPILL_IN"
  cat "$WORK_DIR/groupby-gen.log" >&2
else
  note "reusing $SPILL_IN"
fi
SPILL_BYTES=$(stat -c %s "$SPILL_IN")
SPILL_IN_MIB=$(awk -v b="$SPILL_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
SPILL_LINES=$(wc -l <"$SPILL_IN")
BUDGET_MIB=$(( SPILL_MB / 4 ))
BIG_BUDGET=64GiB
cat "$SPILL_IN" >/dev/null

groupby_run() {
  local label=$1 budget=$2
  rm -rf "${OUT:?}/${label:?}" "${TMPDIR:?}/${label:?}"
  note "group-by, $label (memory budget $budget, -p $SPILL_P)"
  timed "$label" "$OUT/$label.stderr" "$GROUPBY" --input "$SPILL_IN" --output "$OUT/$label" \
    --memory-budget "$budget" -p "$SPILL_P" --no-progress --temp-dir "$TMPDIR/$label"
}
groupby_run groupby-spill "${BUDGET_MIB}MiB"
groupby_run groupby-nospill "$BIG_BUDGET"

SPILL_SUMMARY=$(grep ' done (' "$OUT/groupby-spill.stderr" | tail -n 1 || true)
NOSPILL_SUMMARY=$(grep ' done (' "$OUT/groupby-nospill.stderr" | tail -n 1 || true)
SPILLED=$(sed -n 's/.*, spilled \([^,]*\),.*/\1/p' <<<"$SPILL_SUMMARY")
[[ -n $SPILLED ]] || die "the group-by with a ${BUDGET_MIB} MiB budget did not spill; its summary: '$SPILL_SUMMARY'"
if grep -q 'spilled' <<<"$NOSPILL_SUMMARY"; then
  die "the group-by with a $BIG_BUDGET budget spilled; its summary: '$NOSPILL_SUMMARY'"
fi
sorted_runnel_output "$OUT/groupby-spill" "$OUT/groupby-spill.sorted"
sorted_runnel_output "$OUT/groupby-nospill" "$OUT/groupby-nospill.sorted"
same_or_die "group-by with spill vs without" "$OUT/groupby-spill.sorted" "$OUT/groupby-nospill.sorted"
GROUPS_OUT=$(wc -l <"$OUT/groupby-spill.sorted")
COUNTED=$(awk -F, '{ n += $2 } END { printf "%d", n }' "$OUT/groupby-spill.sorted")
[[ $COUNTED == "$SPILL_LINES" ]] || die "the group-by counted $COUNTED values, the input has $SPILL_LINES lines"
note "group-by outputs agree: $GROUPS_OUT keys, $COUNTED values"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# --- the report -------------------------------------------------------------------

BASE_S=$(median_secs baseline)
BASE_RSS=$(max_rss_mib baseline)
row() {  # row LABEL NAME
  local s rss
  s=$(median_secs "$1")
  rss=$(max_rss_mib "$1")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$(fmt "$s" %.2f)" \
    "$(div "$CORPUS_MIB" "$s" | awk '{ printf "%.0f", $1 }')" "$(div "$BASE_S" "$s")" "$rss" "$(div "$rss" "$BASE_RSS")" \
    "$(all_secs "$1")"
}
target() {  # target LABEL WHAT VALUE OP LIMIT
  local ok
  ok=$(awk -v v="$3" -v l="$5" -v op="$4" 'BEGIN { print ((op == ">=" ? v >= l : v <= l) ? "met" : "MISSED") }')
  printf -- '- %s: %sx (target %s %sx): %s\n' "$2" "$3" "$4" "$5" "$ok"
}
P1_X=$(div "$BASE_S" "$(median_secs runnel-p1)")
P2_X=$(div "$BASE_S" "$(median_secs runnel-p2)")
P1_RSS_X=$(div "$(max_rss_mib runnel-p1)" "$BASE_RSS")
P2_RSS_X=$(div "$(max_rss_mib runnel-p2)" "$BASE_RSS")

{
  echo "### Word count, ${CORPUS_MIB} MiB corpus"
  echo
  echo "Machine: ${NPROC} CPUs (nproc), ${CPU_MODEL:-unknown CPU}, ${MEM_GIB} GiB RAM; load average ${LOAD_START} at the start, ${LOAD_END} at the end."
  echo "Commit ${COMMIT}, ${BUILD_TYPE:-unknown} build in ${BUILD_DIR}; $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Corpus: ${CORPUS_BYTES} bytes, ${WORDS} words, ${DISTINCT} distinct (wordcount_corpus --size-mb ${SIZE_MB}, default seed), read from the page cache."
  echo "Seconds: the median of ${RUNS} runs (the lower middle one for an even count; tr pipeline: ${TR_RUNS} run(s)); peak RSS: the highest of the runs. MiB/s: corpus MiB / seconds."
  echo "Ratio: baseline seconds / contender seconds (above 1 is faster than the baseline); RSS ratio: contender RSS / baseline RSS."
  echo
  echo "| contender | seconds | MiB/s | speed vs baseline | peak RSS MiB | RSS vs baseline | every run, s |"
  echo "|---|---|---|---|---|---|---|"
  row runnel-p1 "runnel run wordcount -p 1"
  row runnel-p2 "runnel run wordcount -p 2"
  row baseline "baseline (C++, std::unordered_map)"
  if [[ $SKIP_TR != 1 ]]; then
    row tr "tr \| tr \| sort \| uniq -c (RSS: largest process)"
  else
    echo "| tr \| tr \| sort \| uniq -c | skipped | | | | | |"
  fi
  echo
  if [[ $SKIP_TR != 1 ]]; then
    echo "All outputs are equal (sorted): runnel -p 1, runnel -p 2 and the tr pipeline against the baseline."
  else
    echo "All outputs are equal (sorted): runnel -p 1 and runnel -p 2 against the baseline (the tr pipeline was skipped)."
  fi
  echo
  target runnel-p1 "runnel -p 1 vs baseline" "$P1_X" ">=" 1.5
  target runnel-p2 "runnel -p 2 vs baseline" "$P2_X" ">=" 2.8
  target runnel-p1 "runnel -p 1 peak RSS vs baseline" "$P1_RSS_X" "<=" 2
  target runnel-p2 "runnel -p 2 peak RSS vs baseline" "$P2_RSS_X" "<=" 2
  echo
  echo "### Group-by with spill, ${SPILL_IN_MIB} MiB input"
  echo
  echo "groupby_spill: CSV key,value -> group_by_key -> key,count,sum; ${SPILL_LINES} lines, ${GROUPS_OUT} distinct keys; -p ${SPILL_P}; 1 run each."
  echo
  echo "| run | memory budget | input / budget | seconds | MiB/s | peak RSS MiB | spilled |"
  echo "|---|---|---|---|---|---|---|"
  for label in groupby-spill groupby-nospill; do
    s=$(median_secs "$label")
    if [[ $label == groupby-spill ]]; then
      b="${BUDGET_MIB} MiB"; ratio="$(div "$SPILL_IN_MIB" "$BUDGET_MIB")x"; sp=$SPILLED
    else
      b=$BIG_BUDGET; ratio="-"; sp=none
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$b" "$ratio" "$(fmt "$s" %.2f)" \
      "$(div "$SPILL_IN_MIB" "$s" | awk '{ printf "%.0f", $1 }')" "$(max_rss_mib "$label")" "$sp"
  done
  echo
  NOSPILL_RSS=$(max_rss_mib groupby-nospill)
  echo "The in-memory run peaks at ${NOSPILL_RSS} MiB, $(div "$NOSPILL_RSS" "$BUDGET_MIB")x the spilling run's budget."
  echo "The spilling run's output equals the in-memory run's (sorted), and its counts add up to the input's lines."
} | tee "$WORK_DIR/report.md"
rm -rf "${TMPDIR:?}"/groupby-*
note "report written to $WORK_DIR/report.md"
