# Shared by the crash tests: sourced, not run. Expects $log (the jobs' log) and
# $name (the test's name) to be set.

fail() {
  echo "$name: FAILED: $*" >&2
  echo "--- job log:" >&2
  tail -n 40 "$log" >&2
  exit 1
}

# The published records of an output directory, sorted (pending parts are hidden files).
records() { find "$1" -maxdepth 1 -name 'part-*' -exec cat {} + | LC_ALL=C sort; }

# Sleeps a random time between $1 and $2 seconds (millisecond steps).
random_sleep() {
  sleep "$(awk -v r="$RANDOM" -v lo="$1" -v hi="$2" 'BEGIN { printf "%.3f", lo + (r % int((hi - lo) * 1000 + 1)) / 1000 }')"
}

# Runs "$@" in the background (output to $log) and kills it with SIGKILL after
# a random $1..$2 seconds. Returns 0 if it was killed; if it had already
# finished, checks that it succeeded, says so, clears $work/out and $work/ck
# (the next run starts over) and returns 1.
run_and_kill() {
  local lo=$1 hi=$2
  shift 2
  "$@" >>"$log" 2>&1 &
  local pid=$!
  random_sleep "$lo" "$hi"
  if ! kill -9 "$pid" 2>/dev/null; then
    wait "$pid" || fail "a run exited with an error before it was killed: $*"
    echo "$name: a run finished before its kill; starting over from an empty output"
    rm -rf "$work/out" "$work/ck"
    return 1
  fi
  wait "$pid" 2>/dev/null || true
  return 0
}

# Starts `RUNNEL kafka dev ARGS...` in the background for the test (stopped on
# exit); sets $dev to its pid and $b to its bootstrap address.
start_kafka_dev() {
  local runnel=$1
  shift
  "$runnel" kafka dev "$@" >"$work/bootstrap" 2>>"$log" &
  dev=$!
  for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
  b=$(cat "$work/bootstrap")
  [ -n "$b" ] || fail "the development cluster did not start"
}

# Produces $2 clicks "user-K,time_ms" in time order to the topic clicks with RUNNEL ($1).
produce_clicks() {
  awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "user-%d,%.0f\n", (i * 7919) % 50, 1700000000000 + i }' |
    "$1" kafka produce -b "$b" -t clicks 2>>"$log" || fail "producing the input failed"
}

# Compares each sink's committed records in the output topics PREFIX-SINK with
# the reference run's files, record for record.
check_committed_topics() {
  local reader=$1 txlog=$2
  for sink in windows totals running; do
    records "$work/ref/$sink" >"$work/ref-$sink.txt"
    "$reader" "$b" "out-$sink" "$txlog" 2>>"$log" | LC_ALL=C sort >"$work/out-$sink.txt" ||
      fail "reading out-$sink failed"
    [ -s "$work/ref-$sink.txt" ] || fail "the reference $sink output is empty"
    if ! cmp -s "$work/ref-$sink.txt" "$work/out-$sink.txt"; then
      echo "lost (<) and duplicated (>) records of $sink:" >&2
      diff "$work/ref-$sink.txt" "$work/out-$sink.txt" | head -n 20 >&2 || true
      fail "out-$sink (committed transactions) differs from the uninterrupted run"
    fi
    echo "$name: out-$sink: $(wc -l <"$work/ref-$sink.txt") records in committed transactions, equal to the uninterrupted run"
  done
}
