// The spill part of bench/wordcount (run.sh): a group-by-key over more data
// than the memory budget, written against runnel's public API.
//
//   groupby_spill --input IN.csv --output DIR --memory-budget 64MiB [-p N] ...
//       reads CSV lines "key,value" (value an integer), groups the values of
//       each key and writes "key,count,sum" to DIR/part-NNNNN.csv. All the
//       runnel job flags apply (see --help).
//
//   groupby_spill generate OUTPUT [--size-mb N] [--values-per-key V] [--seed S]
//       writes its input: about N MiB (default 256) of "key,value" lines with
//       N MiB / (V * ~18 bytes) distinct keys (default V = 8), each line's key
//       drawn uniformly, values in [0, 1000000). Deterministic.
//
// Held in memory, the groups take about as many bytes as the CSV does (a key
// and its vector of values per group), so a budget of a quarter of the input
// size makes the aggregation hold ~4x its budget: it must spill.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <runnel/runnel.hpp>

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser: a bijection
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int generate(int argc, char** argv) {
  const char* usage =
      "usage: groupby_spill generate OUTPUT [--size-mb N] [--values-per-key V] [--seed S]\n";
  std::uint64_t size_mb = 256, per_key = 8, seed = 7;
  const char* output = nullptr;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    std::uint64_t* target = a == "--size-mb"          ? &size_mb
                            : a == "--values-per-key" ? &per_key
                            : a == "--seed"           ? &seed
                                                      : nullptr;
    if (target != nullptr) {
      char* end = nullptr;
      if (i + 1 >= argc) {
        std::fprintf(stderr, "groupby_spill generate: %s needs a value\n%s", argv[i], usage);
        return 2;
      }
      *target = std::strtoull(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0') {
        std::fprintf(stderr, "groupby_spill generate: %s '%s' is not a number\n%s", argv[i - 1],
                     argv[i], usage);
        return 2;
      }
    } else if (output == nullptr && !a.starts_with("-")) {
      output = argv[i];
    } else {
      std::fprintf(stderr, "groupby_spill generate: unexpected '%s'\n%s", argv[i], usage);
      return 2;
    }
  }
  if (output == nullptr || size_mb == 0 || per_key == 0) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  const std::uint64_t target = size_mb << 20;
  // "k" + 10 digits + "," + up to 6 digits + "\n": ~18.9 bytes a line.
  const std::uint64_t keys = std::max<std::uint64_t>(1, target / 19 / per_key);
  std::FILE* out = std::fopen(output, "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "groupby_spill generate: cannot create '%s': %s\n", output,
                 std::strerror(errno));
    return 2;
  }
  std::string buf;
  buf.reserve((1 << 20) + 64);
  std::uint64_t written = 0, lines = 0, state = seed;
  char line[64];
  while (written + buf.size() < target) {
    std::uint64_t r = mix(state++);
    std::uint64_t key = ((r >> 32) * keys) >> 32;                 // uniform in [0, keys)
    std::uint64_t id = mix(key ^ (seed << 40)) % 10000000000ULL;  // 10 digits, scattered
    std::uint64_t value = (r & 0xffffffffULL) % 1000000;
    int n =
        std::snprintf(line, sizeof(line), "k%010llu,%llu\n", static_cast<unsigned long long>(id),
                      static_cast<unsigned long long>(value));
    buf.append(line, static_cast<std::size_t>(n));
    ++lines;
    if (buf.size() >= (1 << 20)) {
      if (std::fwrite(buf.data(), 1, buf.size(), out) != buf.size()) break;
      written += buf.size();
      buf.clear();
    }
  }
  bool ok = std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
  written += buf.size();
  ok = std::fclose(out) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "groupby_spill generate: write to '%s' failed: %s\n", output,
                 std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "groupby_spill generate: %llu bytes, %llu lines, ~%llu distinct keys\n",
               static_cast<unsigned long long>(written), static_cast<unsigned long long>(lines),
               static_cast<unsigned long long>(keys));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "generate") return generate(argc, argv);
  return runnel::run_main(
      argc, argv,
      [](runnel::Pipeline& p, const runnel::Options& o) {
        p.read(o.csv_input<std::pair<std::string, std::int64_t>>())
            .group_by_key()
            .map([](std::pair<std::string, std::vector<std::int64_t>>&& group) {
              std::int64_t sum =
                  std::accumulate(group.second.begin(), group.second.end(), std::int64_t{0});
              return std::tuple<std::string, std::uint64_t, std::int64_t>(std::move(group.first),
                                                                          group.second.size(), sum);
            })
            .write(o.csv_output());
      },
      "Groups CSV key,value lines by key and writes key,count,sum (bench/wordcount spill test; "
      "'groupby_spill generate OUTPUT' writes an input)");
}
