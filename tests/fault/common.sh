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
