#!/usr/bin/env bash
# The structure's size figures (issue 20): the longest functions, the largest
# files, how many are over 80 and 600 lines, and what `#include <runnel/runnel.hpp>`
# reaches. Function extents come from universal-ctags (Debian's universal-ctags,
# not installed by install-deps.sh: a measuring tool, not a build dependency).
#   bash scripts/code_size.sh [N]      N: how many of the longest to list (default 8)
set -eu
cd "$(dirname "$0")/.."
command -v ctags >/dev/null || { echo "code_size.sh: needs universal-ctags (apt install universal-ctags)" >&2; exit 2; }
n=${1:-8}
spans() {
  ctags -R --languages=C++ --kinds-C++=f --fields=+ne -x --_xformat='%{line} %{end} %N %F' \
    src include tools 2>/dev/null | awk '$2 != "" { print $2 - $1 + 1, $3, $4 }'
}
echo "-- longest functions (lines, name, file)"
spans | sort -rn | head -"$n"
echo "-- largest files"
find src include tools -name '*.[ch]pp' -print0 | xargs -0 wc -l | grep -v ' total$' | sort -rn | head -"$n"
echo "-- functions over 80 lines: $(spans | awk '$1 > 80' | wc -l)"
echo "-- files over 600 lines: $(find src include tools -name '*.[ch]pp' -print0 | xargs -0 wc -l | grep -v ' total$' | awk '$1 > 600' | wc -l)"
lines=$(echo '#include <runnel/runnel.hpp>' | g++ -std=c++20 -Iinclude -E -x c++ - | wc -l)
headers=$(echo '#include <runnel/runnel.hpp>' | g++ -std=c++20 -Iinclude -E -H -x c++ - 2>&1 >/dev/null |
  grep 'include/runnel' | sed 's/^\.* //' | sort -u | wc -l)
echo "-- #include <runnel/runnel.hpp>: $lines preprocessed lines, $headers project headers"
