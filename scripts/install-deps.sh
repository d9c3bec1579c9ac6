#!/usr/bin/env bash
# Installs everything runnel needs to build, test and benchmark on Debian 12,
# by package name, from Debian's archive. Safe to run again.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache make pkg-config git ca-certificates clang-format
  # libraries the engine links
  libspdlog-dev libfmt-dev libcli11-dev libxxhash-dev librocksdb-dev librdkafka-dev nlohmann-json3-dev
  prometheus-cpp-dev libcpp-httplib-dev
  # the runnel CLI's allocator
  libmimalloc-dev
  # tests and benchmarks; clang-16 and libFuzzer for the fuzz targets (clang 14
  # fails on GCC 12's <ranges>)
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev clang-16 libfuzzer-16-dev
  libclang-rt-16-dev
  # a Kafka client no one here wrote, for the interop tests; Python for the metrics tests
  kcat python3
  # network namespaces for the scale-out test's members (used when it runs as root)
  iproute2
  # used by the wordcount benchmark's shell baseline and timing (GNU time)
  coreutils time
)

# --browser (the test script): also Debian's chromium and its WebDriver, for
# the web page's browser test. Optional: if they cannot be installed, that
# test is skipped with a message and everything else goes on.
browser_packages=(chromium chromium-driver)
with_browser=false
[ "${1:-}" = "--browser" ] && with_browser=true

missing_of() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}
mapfile -t missing < <(missing_of "${packages[@]}")
browser_missing=()
$with_browser && mapfile -t browser_missing < <(missing_of "${browser_packages[@]}")
if [ ${#missing[@]} -eq 0 ] && [ ${#browser_missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]} ${browser_missing[*]}" >&2; exit 2; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ${#browser_missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${browser_missing[*]} (for the browser test)"
  $sudo apt-get install -y -q --no-install-recommends "${browser_missing[@]}" ||
    echo "install-deps: could not install ${browser_missing[*]}; the browser test will be skipped" >&2
fi
