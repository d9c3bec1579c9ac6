#!/usr/bin/env bash
# Quick start, step 1: install what runnel needs (Debian 12 packages), build
# it, and run the demo over the bundled data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The same configuration as scripts/test.sh, which then builds on this one.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DRUNNEL_WERROR=ON -DRUNNEL_CHECK_HEADERS=ON
cmake --build build
bash scripts/demo.sh
