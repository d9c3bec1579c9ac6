#!/usr/bin/env bash
# A long streaming run (issue 24, item 4): Nexmark q5 (sliding windows: state
# that does not grow with time) from the unbounded generator at a steady pace,
# RocksDB state, a checkpoint every second, the newest 3 kept; sampled every
# 10 s: resident memory, open file descriptors, the checkpoint directory and
# the RocksDB directory. Event time runs at the pace (--rate = --pace), so
# windows close as they would on a live stream. Prints the samples as CSV and
# the growth of each from the end of warm-up (the first fifth) to the end;
# then stops the job with SIGTERM (a final checkpoint) and checks it exits 0.
#   bash bench/long_run/run.sh RUNNEL_CLI [SECONDS=600] [PACE=50000] [QUERY=q5]
set -euo pipefail
runnel=$1
seconds=${2:-600}
pace=${3:-50000}
query=${4:-q5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$runnel" nexmark run -q "$query" --events 0 --pace "$pace" --rate "$pace" --mode streaming \
  --no-progress --checkpoint-dir "$work/ck" --checkpoint-interval 1s --checkpoints-kept 3 \
  --state-backend rocksdb --state-dir "$work/state" --sink blackhole >"$work/log" 2>&1 &
pid=$!
bytes() { du -sb "$1" 2>/dev/null | cut -f1 || echo 0; }
echo "seconds,rss_kb,fds,checkpoint_dir_bytes,checkpoints,rocksdb_dir_bytes"
samples=()
for ((t = 10; t <= seconds; t += 10)); do
  sleep 10
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; echo "long_run: the job ended early" >&2; exit 1; }
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  fds=$(ls "/proc/$pid/fd" | wc -l)
  cks=$(find "$work/ck" -maxdepth 1 -name 'chk-*' | wc -l)
  line="$t,$rss,$fds,$(bytes "$work/ck"),$cks,$(bytes "$work/state")"
  echo "$line"
  samples+=("$line")
done
kill -TERM "$pid"
wait "$pid" || { tail -20 "$work/log" >&2; echo "long_run: the job did not stop cleanly" >&2; exit 1; }
grep -E "checkpoint|stopped" "$work/log" | tail -n 2 >&2 || true
# After warm-up (the first third: RocksDB's caches and memtables fill to the
# memory budget), each column's range, and the growth of its mean from the
# first sixth after warm-up to the last sixth.
n=${#samples[@]}
printf '%s\n' "${samples[@]}" | awk -F, -v n="$n" '
  BEGIN { w = int(n / 3); k = int(n / 6); if (k < 1) k = 1 }
  NR > w {
    for (i = 2; i <= 6; i++) {
      if (!(i in lo) || $i < lo[i]) lo[i] = $i
      if ($i > hi[i]) hi[i] = $i
      if (NR <= w + k) first[i] += $i / k
      if (NR > n - k) last[i] += $i / k
    }
  }
  END {
    split("rss_kb,fds,checkpoint_dir_bytes,checkpoints,rocksdb_dir_bytes", names, ",")
    for (i = 2; i <= 6; i++)
      printf "long_run: %s after warm-up %d..%d, mean %.0f then %.0f (%+.1f%%)\n", names[i - 1],
        lo[i], hi[i], first[i], last[i], (first[i] > 0 ? 100 * (last[i] - first[i]) / first[i] : 0)
  }' >&2
