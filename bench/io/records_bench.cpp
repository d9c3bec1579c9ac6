// bench/io: typed records read from files, CSV and JSON lines, by runnel's
// file source (io::csv<T>, io::json<T>, one instance, into discard()) against
// the library's own decode loop over the same lines (read the file, split it
// at '\n', csv::parse_record or json::from_json each line) in the same run.
// See docs/benchmarks.md.
//
//   records_bench [--records N] [--dir DIR] [--rounds R]
//
// Records per second per core: records divided by the CPU time (all threads)
// of the best of R rounds, so the figure does not depend on how many cores
// the machine lends the run.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <runnel/runnel.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {
using namespace runnel;

struct Sale {
  std::string sku;
  std::int64_t quantity = 0;
  double price = 0;
  std::string store;
  std::int64_t time_ms = 0;
};
RUNNEL_FIELDS(Sale, sku, quantity, price, store, time_ms);

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

void write_inputs(const std::filesystem::path& dir, std::uint64_t n) {
  std::filesystem::create_directories(dir);
  std::ofstream csv(dir / "sales.csv"), json(dir / "sales.jsonl");
  std::string line;
  for (std::uint64_t i = 0; i < n; ++i) {
    Sale s{"sku-" + std::to_string(i % 5000), static_cast<std::int64_t>(i % 7 + 1),
           1 + static_cast<double>(i % 400) * 0.25, "store-" + std::to_string(i % 97),
           1'700'000'000'000 + static_cast<std::int64_t>(i) * 10};
    line.clear();
    csv::append_record(line, s);
    csv << line << '\n';
    line.clear();
    json::append(line, s);
    json << line << '\n';
  }
}

// The decode loop alone: the whole file in memory first (not timed), then
// every line decoded into one reused record.
template <class Decode>
double baseline_cpu(const std::filesystem::path& file, std::uint64_t expect, Decode decode) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const double start = cpu_seconds();
  std::uint64_t ok = 0;
  Sale s;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (decode(std::string_view(text).substr(pos, end - pos), s)) ++ok;
    pos = end + 1;
  }
  const double cpu = cpu_seconds() - start;
  if (ok != expect)
    std::fprintf(stderr, "baseline decoded %llu of %llu\n", static_cast<unsigned long long>(ok),
                 static_cast<unsigned long long>(expect));
  return cpu;
}

double runnel_cpu(const io::RecordsIO<Sale>& in, std::uint64_t expect) {
  PipelineOptions o;
  o.parallelism = 1;
  o.progress = false;
  Pipeline p(o);
  p.read(in).discard();
  const double start = cpu_seconds();
  RunResult r = p.run();
  const double cpu = cpu_seconds() - start;
  if (r.records_in != expect || r.dead_letters != 0)
    std::fprintf(stderr, "runnel read %llu records, %llu rejected\n",
                 static_cast<unsigned long long>(r.records_in),
                 static_cast<unsigned long long>(r.dead_letters));
  return cpu;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("typed records from files: runnel's source against the decode loop");
  std::uint64_t records = 2'000'000;
  std::string dir = (std::filesystem::temp_directory_path() / "runnel-records-bench").string();
  int rounds = 3;
  app.add_option("--records", records, "records per file (default 2,000,000)");
  app.add_option("--dir", dir, "where the input files go");
  app.add_option("--rounds", rounds, "rounds; the best of each is kept (default 3)");
  CLI11_PARSE(app, argc, argv);
  write_inputs(dir, records);
  const std::filesystem::path base(dir);

  std::vector<std::string_view> cols;
  std::string scratch;
  json::Document doc;
  struct Row {
    const char* format;
    double base = 1e300, ours = 1e300;
  } rows[2] = {{"csv"}, {"json"}};
  for (int r = 0; r < rounds; ++r) {
    rows[0].base = std::min(
        rows[0].base, baseline_cpu(base / "sales.csv", records, [&](std::string_view l, Sale& s) {
          return csv::parse_record(l, s, cols, scratch).empty();
        }));
    rows[0].ours =
        std::min(rows[0].ours, runnel_cpu(io::csv<Sale>((base / "sales.csv").string()), records));
    rows[1].base = std::min(
        rows[1].base, baseline_cpu(base / "sales.jsonl", records, [&](std::string_view l, Sale& s) {
          return json::from_json(l, s, doc).empty();
        }));
    rows[1].ours = std::min(rows[1].ours,
                            runnel_cpu(io::json<Sale>((base / "sales.jsonl").string()), records));
  }
  std::printf("| format | decode loop (records/s per core) | runnel -p 1 | ratio |\n");
  std::printf("|---|---|---|---|\n");
  for (const auto& row : rows) {
    const double b = static_cast<double>(records) / row.base;
    const double o = static_cast<double>(records) / row.ours;
    std::printf("| %s | %.0f | %.0f | %.2fx |\n", row.format, b, o, o / b);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
