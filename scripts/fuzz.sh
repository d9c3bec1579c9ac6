#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang-16, ASan and UBSan, and
# runs each for a bounded time from its seeds and regressions
# (tests/fuzz/corpus/<target>), two at a time. A crash fails the run and
# leaves its input under build-fuzz/crashes/<target>/: add it to the target's
# corpus as a regression once fixed.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default: 30, all)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(csv_fuzz json_fuzz coder_fuzz spill_fuzz checkpoint_fuzz repartition_fuzz flags_fuzz http_fuzz)
command -v clang++-16 >/dev/null || { echo "fuzz.sh: clang++-16 missing: run scripts/install-deps.sh" >&2; exit 2; }

export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRUNNEL_SANITIZE=address -DRUNNEL_FUZZ=ON -DRUNNEL_WERROR=ON -DRUNNEL_BUILD_TESTS=OFF \
  -DRUNNEL_BUILD_BENCH=OFF -DRUNNEL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"

run_one() {
  local t=$1 work=build-fuzz/corpus/$1 crashes=build-fuzz/crashes/$1 dict=()
  mkdir -p "$work" "$crashes" "tests/fuzz/corpus/$t"
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  # New inputs go to the work corpus (the first directory), not to the repository's.
  if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
    "build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "${dict[@]}" "$work" "tests/fuzz/corpus/$t" \
    >"build-fuzz/$t.log" 2>&1; then
    echo "fuzz.sh: $t: $(grep -E '^stat::number_of_executed_units' "build-fuzz/$t.log" | awk '{print $2}') runs," \
      "$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "build-fuzz/$t.log" | tail -1), no crash"
  else
    echo "fuzz.sh: $t FAILED; its log (build-fuzz/$t.log) ends:" >&2
    tail -40 "build-fuzz/$t.log" >&2
    return 1
  fi
}

status=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$(nproc)" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
