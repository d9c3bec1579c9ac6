// Keyed state and checkpoints, measured in one run (docs/benchmarks.md):
//   1. throughput of a keyed aggregation in streaming mode (a stateful DoFn
//      summing per key in a ValueState, and the lifted sum_per_key), with
//      checkpoints every interval vs none, each on the memory and RocksDB backends;
//   2. checkpoint duration and size, and restore time, for a number of keys,
//      on both backends;
//   3. memory per key of a stateful DoFn's ValueState<int64_t> (memory backend);
//   4. timers: a stateful DoFn setting an event-time timer an hour ahead for
//      each of `state-keys` keys, all fired at the end, on one backend: the
//      rate and the peak RSS (on RocksDB the timers are in its database,
//      within --memory-budget).
//
//   checkpoint_bench --events 20000000 --keys 1000000 -p 2 --interval-ms 1000
//   checkpoint_bench --part 2 --keys 10000000
//   checkpoint_bench --part 2 --keys 10000000 -p 2 --restore-parallelism 3
//   checkpoint_bench --part 3 --state-keys 10000000
//   checkpoint_bench --part 4 --state-keys 10000000 --backend rocksdb --memory-budget-mib 256
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
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
  int shards = 2;                       // the generator's, fixed across a restore: the parallelism
  std::string backend = "rocksdb";      // part 4's
  std::size_t memory_budget_mib = 256;  // part 4's
};

// The sum per key in keyed state; results are dropped (nothing is emitted).
struct SumInState : DoFn<KV, std::int64_t> {
  ValueState<std::int64_t> sum{"sum"};
  auto state() { return std::tie(sum); }
  void process(const KV& kv, KeyedContext<std::int64_t>&, Emitter<std::int64_t>&) {
    sum.write(sum.value_or(0) + kv.second);
  }
};

// The latest value per key, emitted by an event-time timer an hour after
// each reading (Beam's and Flink's way of acting on a key gone quiet).
struct Reading {
  std::int64_t key;
  std::int64_t value;
  Timestamp time;
};
struct RemindLater : DoFn<std::pair<std::int64_t, std::int64_t>, std::int64_t> {
  ValueState<std::int64_t> last{"last"};
  auto state() { return std::tie(last); }
  void process(const std::pair<std::int64_t, std::int64_t>& kv, KeyedContext<std::int64_t>& ctx,
               Emitter<std::int64_t>&) {
    last.write(kv.second);
    ctx.set_timer(TimeDomain::kEventTime, ctx.timestamp() + 3'600'000);
  }
  void on_timer(const std::int64_t&, Timestamp, TimeDomain, KeyedContext<std::int64_t>&,
                Emitter<std::int64_t>& out) {
    out.emit(last.value_or(0));
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

// One run of RemindLater over state_keys keys, each seen once (so each
// holds a row and a timer until the end).
void timers(const Flags& f) {
  const bool rocksdb = f.backend == "rocksdb";
  PipelineOptions o;
  o.parallelism = 1;
  o.mode = ExecutionMode::kStreaming;
  o.state_backend = rocksdb ? StateBackend::kRocksDB : StateBackend::kMemory;
  o.state_dir = f.dir + "-state";
  o.memory_budget = f.memory_budget_mib << 20;
  Pipeline p(o);
  io::GeneratorOptions g;
  g.events = f.state_keys;
  g.shards = 1;
  auto fired = std::make_shared<std::atomic<std::uint64_t>>(0);
  p.read(io::generator<Reading>(g,
                                [](const io::GeneratedEvent& e) {
                                  return Reading{static_cast<std::int64_t>(e.index),
                                                 static_cast<std::int64_t>(e.random), e.time};
                                }))
      .with_timestamps(&Reading::time,
                       watermarks::bounded_out_of_orderness(std::chrono::seconds(1)))
      .map([](const Reading& r) { return std::make_pair(r.key, r.value); })
      .par_do(RemindLater{})
      .filter([fired](const std::int64_t&) {
        fired->fetch_add(1, std::memory_order_relaxed);
        return false;
      })
      .collect();
  RunResult r = p.run();
  std::printf(
      "timers      %-7s %llu keys, a timer each, budget %zu MiB: %.2f M keys/s (%.1f s), "
      "%llu fired, peak RSS %.0f MiB\n",
      f.backend.c_str(), static_cast<unsigned long long>(f.state_keys), f.memory_budget_mib,
      static_cast<double>(f.state_keys) / r.seconds / 1e6, r.seconds,
      static_cast<unsigned long long>(fired->load()),
      static_cast<double>(status_kib("VmHWM:")) / 1024);
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
  app.add_option("--part", f.part,
                 "1 throughput, 2 checkpoint size and restore, 3 memory, 4 timers; 0 all but 4");
  app.add_option("--state-keys", f.state_keys, "keys for parts 3 and 4");
  app.add_option("--backend", f.backend, "part 4: memory or rocksdb")
      ->check(CLI::IsMember({"memory", "rocksdb"}));
  app.add_option("--memory-budget-mib", f.memory_budget_mib, "part 4: the job's memory budget");
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
  if (f.part == 4) timers(f);
  return 0;
}
