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
