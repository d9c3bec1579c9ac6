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
echo "== The same word count as a user's own program (examples/wordcount.cpp), with a bad path"
set +e
build/examples/wordcount --input 'examples/data/*.nothing' --output "$out/bad"
echo "(exit code $? : a user error names the problem and exits with 2)"
set -e

echo
echo "Demo done. Outputs are under $out/."
