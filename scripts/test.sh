#!/usr/bin/env bash
# Quick start, step 2: build and run every test. This is what CI runs.
#   0. formatting (clang-format, the repository's .clang-format)
#   1. the Release build (what users and the benchmarks build), every public
#      header compiled alone against its layer (cmake/layers.cmake), and the
#      test suites (unit, integration, property)
#   2. the unit and property suites again under AddressSanitizer + UBSan (Debug)
#   3. the unit suite (the executor's threads, queues and exchanges) under ThreadSanitizer
#   4. each decoder's libFuzzer target for a bounded time (scripts/fuzz.sh:
#      clang-16, ASan + UBSan), from its seeds and the inputs of crashes it found
#   5. an install, and the examples built against it with find_package(runnel)
# Warnings are errors here (RUNNEL_WERROR), not in a user's default build. The
# sanitized suites run as shards, two at a time: one process of a suite leaves
# a core idle most of the time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --browser
jobs=$(nproc)
# ccache (when installed) shares objects between clones of the repository:
# paths are taken relative to the clone.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true

# CI once saw two compilers fail at the same moment with no message at all
# (killed from outside: memory or a signal). A failed build says what the
# machine had then and builds again, one job at a time: a real compile error
# fails the second time too, with its message.
build() {
  local dir=$1
  shift
  if ! cmake --build "$dir" -j"$jobs" "$@"; then
    echo "test.sh: the build in $dir failed; memory and disk now:" >&2
    free -m >&2 || true
    df -h . >&2 || true
    echo "test.sh: building $dir again, one job at a time" >&2
    cmake --build "$dir" -j1 "$@"
  fi
}

echo "== formatting, and no include that climbs out of its folder"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror
# A layer sees other layers only through its include view (cmake/layers.cmake);
# a relative "../" include would walk around it.
if git grep -n '#include *"\.\./' -- src include tools; then
  echo 'test.sh: an #include with "../" bypasses the layers; include by layer path' >&2
  exit 1
fi

echo "== build and test (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DRUNNEL_WERROR=ON -DRUNNEL_CHECK_HEADERS=ON
build build
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build and test with ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRUNNEL_SANITIZE=address \
  -DRUNNEL_WERROR=ON -DRUNNEL_TEST_SHARDS=3 -DRUNNEL_BUILD_BENCH=OFF -DRUNNEL_BUILD_EXAMPLES=OFF
build build-asan --target runnel_unit_tests runnel_property_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -R 'runnel_(unit|property)_tests'

echo "== build and test with TSan"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUNNEL_SANITIZE=thread \
  -DRUNNEL_WERROR=ON -DRUNNEL_TEST_SHARDS=4 -DRUNNEL_BUILD_BENCH=OFF -DRUNNEL_BUILD_EXAMPLES=OFF
build build-tsan --target runnel_unit_tests
# Not the Kafka tests: Debian's librdkafka starts its threads where TSan's
# pthread_create interceptor does not see them, and TSan then crashes in its own
# allocator on their first malloc (seen in the mock cluster's thread). They run
# in the release and ASan builds above.
# Four shards, each with ctest's ten minutes, two at a time.
GTEST_FILTER='-*Kafka*' TSAN_OPTIONS="halt_on_error=1 suppressions=$(pwd)/tests/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs" -R 'runnel_unit_tests'

echo "== fuzzing: every decoder of outside bytes, ${RUNNEL_FUZZ_SECONDS:-30} s each"
# Not http_fuzz here: a server on loopback taking a thousand connections a
# second while two other fuzzers load both cores refuses some, which says
# nothing of runnel; run it with `bash scripts/fuzz.sh 120 http_fuzz`.
bash scripts/fuzz.sh "${RUNNEL_FUZZ_SECONDS:-30}" csv_fuzz json_fuzz coder_fuzz spill_fuzz \
  checkpoint_fuzz repartition_fuzz flags_fuzz

echo "== install, then build the examples against it with find_package(runnel)"
prefix=$(pwd)/build/install-check
rm -rf "$prefix" build/examples-standalone
cmake --install build --prefix "$prefix" >/dev/null
cmake -S examples -B build/examples-standalone -G Ninja -DCMAKE_PREFIX_PATH="$prefix"
cmake --build build/examples-standalone -j"$jobs"
rm -rf build/examples-standalone-out
build/examples-standalone/wordcount --input 'examples/data/*.txt' --output build/examples-standalone-out --no-progress
test -f build/examples-standalone-out/_SUCCESS

echo "== all tests passed"
