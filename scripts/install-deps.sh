#!/usr/bin/env bash
# Installs everything runnel needs to build, test and benchmark on Debian 12,
# by package name, from Debian's archive. Safe to run again.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache make pkg-config git ca-certificates
  # libraries the engine links
  libspdlog-dev libfmt-dev libcli11-dev libxxhash-dev librocksdb-dev librdkafka-dev nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  # a Kafka client no one here wrote, for the interop tests
  kcat
  # used by the wordcount benchmark's shell baseline and timing (GNU time)
  coreutils time
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 2; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
