#!/usr/bin/env bash
# The demo: runnel's built-in jobs over the bundled data in examples/data.
set -euo pipefail
cd "$(dirname "$0")/.."
runnel=build/runnel
out=build/demo
rm -rf "$out"

echo "== The plan of word count: what runs where, and what is fused"
$runnel explain wordcount --input 'examples/data/*.txt' --output "$out/wordcount"

echo
echo "== Word count over examples/data/*.txt (parallelism 2)"
$runnel run wordcount --input 'examples/data/*.txt' --output "$out/wordcount" --parallelism 2
echo "-- the ten most frequent words (word,count):"
cat "$out"/wordcount/part-*.csv | sort -t, -k2,2nr -k1,1 | head -10

echo
echo "== Uppercase over examples/data/rain.txt"
$runnel run uppercase --input examples/data/rain.txt --output "$out/uppercase"
head -3 "$out"/uppercase/part-*.txt

echo
echo "== A user's own program (examples/revenue.cpp): revenue per SKU from CSV; bad lines are kept aside"
build/examples/revenue --input examples/data/sales.csv --output "$out/revenue"
echo "-- results:"
cat "$out"/revenue/part-*.csv | sort
echo "-- rejected lines (file,line,reason,record):"
cat "$out"/revenue/_rejected/part-*.csv

echo
echo "== IoT analytics in streaming mode: a CSV history, then about 2 s of live generated readings"
$runnel run iot --input examples/data/sensors.csv --output "$out/iot" --mode streaming --no-progress \
  --metrics-port 0 --status-interval 500ms
echo "-- one-minute averages of dev-3 (device,window_start_ms,window_end_ms,celsius,pane,pane_index):"
cat "$out"/iot/averages/part-*.csv | grep '^dev-3,' | sort -t, -k2,2n | tail -3
echo "-- readings that came later than the allowed lateness (device,time_ms,celsius):"
cat "$out"/iot/late/part-*.csv | head -3

echo
echo "== Predictive maintenance in streaming mode: early alerts before a window closes"
$runnel run maintenance --input examples/data/vibration.csv --output "$out/maintenance" --mode streaming --no-progress
echo "-- first alerts (machine,window_start,window_end,count,mean,max,stddev,pane):"
cat "$out"/maintenance/alerts/part-*.csv | sort -t, -k2,2n -k4,4n | head -4

echo
echo "== Fraud detection in streaming mode: keyed state and event-time timers per account"
$runnel run fraud --input examples/data/transactions.csv --output "$out/fraud" --mode streaming --no-progress
echo "-- first alerts (account,small_time_ms,small_amount,large_time_ms,large_amount):"
cat "$out"/fraud/alerts/part-*.csv | sort -t, -k2,2n | head -4

echo
echo "== Checkpoints: a streaming job killed mid-run resumes from its last checkpoint"
export RUNNEL_FAULT_EVENTS=100000 RUNNEL_FAULT_RATE=50000
build/tests/counting_job --output "$out/counts" --mode streaming --no-progress \
  --checkpoint-dir "$out/checkpoints" --checkpoint-interval 200ms &
job=$!
sleep 1
kill -9 "$job" && wait "$job" 2>/dev/null || true
echo "-- killed it after 1 s; what it left:"
$runnel checkpoints list "$out/checkpoints"
build/tests/counting_job --output "$out/counts" --mode streaming --no-progress \
  --checkpoint-dir "$out/checkpoints" --checkpoint-interval 200ms --restore latest
echo "-- per-user totals after the restore (exactly once: 100000 in all):"
cat "$out"/counts/totals/part-*.csv | awk -F, '{ n += $2 } END { print n " clicks counted" }'

echo
echo "== Kafka with nothing installed: the development cluster, word count from a topic to a topic"
$runnel kafka dev --topic lines --topic counts --partitions 3 --for 60s > "$out/kafka-bootstrap" &
dev=$!
for _ in $(seq 50); do [ -s "$out/kafka-bootstrap" ] && break; sleep 0.1; done
bootstrap=$(cat "$out/kafka-bootstrap")
cat examples/data/*.txt | $runnel kafka produce --bootstrap "$bootstrap" --topic lines
$runnel kafka topics --bootstrap "$bootstrap"
$runnel run wordcount --input "kafka://$bootstrap/lines" --bounded \
  --output "kafka://$bootstrap/counts" --parallelism 2 --no-progress
echo "-- the ten most frequent words, read back from the counts topic:"
$runnel kafka consume --bootstrap "$bootstrap" --topic counts | sort -t, -k2,2nr -k1,1 | head -10
kill "$dev" && wait "$dev" 2>/dev/null || true

echo
echo "== Customer 360 (examples/customer360.cpp): a CSV purchase history, then live purchases,"
echo "   interactions and a customers table from Kafka, joined into profiles written to a topic"
build/examples/customer360

echo
echo "== The same word count as a user's own program (examples/wordcount.cpp), with a bad path"
set +e
build/examples/wordcount --input 'examples/data/*.nothing' --output "$out/bad"
echo "(exit code $? : a user error names the problem and exits with 2)"
set -e

echo
echo "Demo done. Outputs are under $out/."
