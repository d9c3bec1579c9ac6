// Keyed state and checkpoints, measured in one run (docs/benchmarks.md):
//   1. throughput of a keyed aggregation in streaming mode (a stateful DoFn
//      summing per key in a ValueState, and the lifted sum_per_key), with
//      checkpoints every interval vs none, each on the memory and RocksDB backends;
//   2. checkpoint duration and size, and restore time, for a number of keys,
//      on both backends;
//   3. memory per key of a stateful DoFn's ValueState<int64_t> (memory backend).
//
//   checkpoint_bench --events 20000000 --keys 1000000 -p 2 --interval-ms 1000
//   checkpoint_bench --part 2 --keys 10000000
//   checkpoint_bench --part 2 --keys 10000000 -p 2 --restore-parallelism 3
//   checkpoint_bench --part 3 --state-keys 10000000
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <runnel/runnel.hpp>
#include <string>

namespace {
using namespace runnel;
using KV = std::pair<std::int64_t, std::int64_t>;

struct Flags {
  std::uint64_t events = 20'000'000;
  std::uint64_t rocksdb_events = 3'000'000;  // RocksDB is about 50x slower: fewer events
  std::uint64_t keys = 1'000'000;
  int parallelism = 2;
  int restore_parallelism = 0;  // 0: the same
  int interval_ms = 1000;
  int repeats = 3;
  int part = 0;  // 0: all
  std::uint64_t state_keys = 10'000'000;
  std::string dir = "/tmp/runnel-checkpoint-bench";
  int shards = 2;  // the generator's, fixed across a restore: the parallelism
};

// The sum per key in keyed state; results are dropped (nothing is emitted).
struct SumInState : DoFn<KV, std::int64_t> {
  ValueState<std::int64_t> sum{"sum"};
  auto state() { return std::tie(sum); }
  void process(const KV& kv, KeyedContext<std::int64_t>&, Emitter<std::int64_t>&) {
    sum.write(sum.value_or(0) + kv.second);
  }
};

enum class Kind { kStatefulDoFn, kCombine };

// (key, 1) events over `keys` keys through a keyed aggregation.
RunResult aggregate(const Flags& f, Kind kind, StateBackend backend, std::uint64_t events,
                    const std::string& ck, int interval_ms, const std::string& restore = "") {
  PipelineOptions o;
  o.parallelism = f.parallelism;
  o.mode = ExecutionMode::kStreaming;
  o.checkpoint_dir = ck;
  o.checkpoint_interval = std::chrono::milliseconds(interval_ms);
  o.restore = restore;
  o.checkpoints_kept = 2;
  o.state_backend = backend;
  o.state_dir = f.dir + "-state";
  Pipeline p(o);
  io::GeneratorOptions g;
  g.events = events;
  g.shards = f.shards;
  const std::uint64_t keys = f.keys;
  auto in = p.read(io::generator<KV>(g, [keys](const io::GeneratedEvent& e) {
    return KV(static_cast<std::int64_t>(e.random % keys), 1);
  }));
  if (kind == Kind::kStatefulDoFn) {
    in.par_do(SumInState{}).collect();
  } else {
    in.sum_per_key().filter([](const auto&) { return false; }).collect();
  }
  return p.run();
}

const char* name(StateBackend b) { return b == StateBackend::kMemory ? "memory" : "rocksdb"; }

void throughput(const Flags& flags, Kind kind, StateBackend backend) {
  Flags f = flags;
  if (backend == StateBackend::kRocksDB) f.events = f.rocksdb_events;
  double best_plain = 0, best_ck = 0;
  std::uint64_t taken = 0;
  double pause = 0;  // the longest a task instance paused for a snapshot, in any run
  for (int r = 0; r < f.repeats; ++r) {
    RunResult plain = aggregate(f, kind, backend, f.events, "", f.interval_ms);
    best_plain = std::max(best_plain, static_cast<double>(plain.records_in) / plain.seconds);
    std::filesystem::remove_all(f.dir);
    RunResult with = aggregate(f, kind, backend, f.events, f.dir, f.interval_ms);
    double rate = static_cast<double>(with.records_in) / with.seconds;
    pause = std::max(pause, with.checkpoint_max_pause_seconds);
    if (rate > best_ck) {
      best_ck = rate;
      taken = with.checkpoints;
    }
  }
  std::printf(
      "throughput  %-13s %-7s %llu events, %llu keys, p=%d: no checkpoints %.2f M ev/s; "
      "every %d ms %.2f M ev/s (%llu taken, longest pause %.1f ms); ratio %.3f\n",
      kind == Kind::kCombine ? "sum_per_key" : "stateful DoFn", name(backend),
      static_cast<unsigned long long>(f.events), static_cast<unsigned long long>(f.keys),
      f.parallelism, best_plain / 1e6, f.interval_ms, best_ck / 1e6,
      static_cast<unsigned long long>(taken), pause * 1000, best_ck / best_plain);
}

// A checkpoint holding every key (events = 3 x keys, so all are seen; the
// last checkpoint is taken at the end), then a restore of it.
void checkpoint_and_restore(const Flags& f, StateBackend backend) {
  namespace fs = std::filesystem;
  fs::remove_all(f.dir);
  RunResult full = aggregate(f, Kind::kStatefulDoFn, backend, 3 * f.keys, f.dir, 200);
  std::string latest;
  for (const auto& e : fs::directory_iterator(f.dir)) latest = std::max(latest, e.path().string());
  Flags again = f;
  if (f.restore_parallelism > 0) again.parallelism = f.restore_parallelism;
  RunResult restored =
      aggregate(again, Kind::kStatefulDoFn, backend, 3 * f.keys, f.dir, 200, latest);
  std::printf(
      "checkpoint  %-7s %llu keys: %.0f ms, %.1f MB (%.1f bytes/key); restore: %.2f s "
      "(read, verify and load into %d instances, from %d)\n",
      name(backend), static_cast<unsigned long long>(f.keys), full.checkpoint_seconds * 1000,
      static_cast<double>(full.checkpoint_bytes) / 1e6,
      static_cast<double>(full.checkpoint_bytes) / static_cast<double>(f.keys),
      restored.restore_seconds, again.parallelism, f.parallelism);
  fs::remove_all(f.dir);
}

long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  }
  return 0;
}

// Peak memory over the run (VmHWM) less what the process held before it:
// every key's state is held at the end, when the peak is reached.
void state_memory(const Flags& f) {
  long before = status_kib("VmRSS:");
  PipelineOptions o;
  o.parallelism = 1;
  o.mode = ExecutionMode::kBatch;
  Pipeline p(o);
  io::GeneratorOptions g;
  g.events = f.state_keys;
  g.shards = 1;
  p.read(io::generator<KV>(g,
                           [](const io::GeneratedEvent& e) {
                             return KV(static_cast<std::int64_t>(e.index),
                                       static_cast<std::int64_t>(e.random));
                           }))
      .par_do(SumInState{})
      .collect();
  p.run();
  long peak = status_kib("VmHWM:");
  std::printf(
      "state memory: %llu keys, ValueState<int64_t> each (memory backend): %.1f bytes per "
      "key (RSS %ld KiB before, peak %ld KiB)\n",
      static_cast<unsigned long long>(f.state_keys),
      static_cast<double>(peak - before) * 1024.0 / static_cast<double>(f.state_keys), before,
      peak);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app("keyed state and checkpoint benchmark");
  app.add_option("--events", f.events, "events per throughput run");
  app.add_option("--rocksdb-events", f.rocksdb_events, "events per throughput run on RocksDB");
  app.add_option("--keys", f.keys, "distinct keys");
  app.add_option("-p,--parallelism", f.parallelism, "instances per task");
  app.add_option("--restore-parallelism", f.restore_parallelism,
                 "part 2: restore at this parallelism (default: the same)");
  app.add_option("--interval-ms", f.interval_ms, "checkpoint interval");
  app.add_option("--repeats", f.repeats, "runs of each kind (the best is reported)");
  app.add_option("--part", f.part, "1 throughput, 2 checkpoint size and restore, 3 memory; 0 all");
  app.add_option("--state-keys", f.state_keys, "keys for part 3");
  app.add_option("--dir", f.dir, "where checkpoints go");
  CLI11_PARSE(app, argc, argv);
  f.shards = f.parallelism;

  if (f.part == 0 || f.part == 1) {
    for (auto kind : {Kind::kStatefulDoFn, Kind::kCombine})
      for (auto b : {StateBackend::kMemory, StateBackend::kRocksDB}) throughput(f, kind, b);
  }
  if (f.part == 0 || f.part == 2) {
    for (auto b : {StateBackend::kMemory, StateBackend::kRocksDB}) checkpoint_and_restore(f, b);
  }
  // Last: the peak it reads is the process's.
  if (f.part == 0 || f.part == 3) state_memory(f);
  return 0;
}
