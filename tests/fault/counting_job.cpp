// The job the crash test kills and restarts: a paced generator (deterministic
// events), keyed counts per one-second window, keyed totals over the whole
// run, and a running count per key in a stateful DoFn, written to three file
// sinks. Its output is the same however often it is
// killed, if checkpoints and the two-phase commit do their work.
//
//   counting_job --output OUT --mode streaming --checkpoint-dir CK [--restore latest]
//
// RUNNEL_FAULT_EVENTS (default 200000) and RUNNEL_FAULT_RATE (events per
// second, default 50000) size the run.
//
// With Kafka (the Kafka crash test): `--input kafka://B/clicks --bounded`
// reads "user,time_ms" lines instead (paced to RUNNEL_FAULT_RATE), and
// `--output kafka://B/PREFIX` writes the topics PREFIX-windows, PREFIX-totals
// and PREFIX-running (exactly once with --kafka-exactly-once).
#include <runnel/runnel.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

struct Click {
  std::string user;
  runnel::Timestamp time = 0;
};

// "window_start,user,count" lines.
// A running count per key in keyed state: "key,count" at every 100th.
struct RunningCount : runnel::DoFn<std::pair<std::string, int>, std::string> {
  runnel::ValueState<std::uint64_t> n{"n"};
  auto state() { return std::tie(n); }
  void process(const std::pair<std::string, int>& kv, runnel::KeyedContext<std::string>&,
               runnel::Emitter<std::string>& out) {
    std::uint64_t c = n.value_or(0) + 1;
    n.write(c);
    if (c % 100 == 0) out.emit(kv.first + "," + std::to_string(c));
  }
};

struct WindowLine : runnel::DoFn<std::pair<std::string, std::uint64_t>, std::string> {
  void process(const std::pair<std::string, std::uint64_t>& kv, const runnel::ElementContext& c,
               runnel::Emitter<std::string>& out) {
    out.emit(std::to_string(c.window.start) + "," + kv.first + "," + std::to_string(kv.second));
  }
};

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr ? fallback : std::strtoull(v, nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace runnel;
  using namespace std::chrono_literals;
  return run_main(argc, argv, [](Pipeline& p, const Options& o) {
    io::GeneratorOptions g;
    g.events = env_or("RUNNEL_FAULT_EVENTS", 200'000);
    g.rate = static_cast<double>(env_or("RUNNEL_FAULT_RATE", 50'000));
    g.shards = 4;
    g.seed = 7;
    g.step_us = 1000;
    g.max_delay = 20ms;
    PCollection<Click> raw =
        io::is_kafka_url(o.input)
            ? p.read(o.text_input())
                  .map([per_ms = std::max<double>(
                            1.0, g.rate / 1000.0 / std::max(1, o.pipeline.parallelism))](
                           const std::string& line) {
                    // Paced: about `rate` records a second over all instances.
                    thread_local std::uint64_t n = 0;
                    if (++n % static_cast<std::uint64_t>(per_ms) == 0)
                      std::this_thread::sleep_for(1ms);
                    auto comma = line.find(',');
                    return Click{line.substr(0, comma), std::stoll(line.substr(comma + 1))};
                  })
            : p.read(io::generator<Click>(g, [](const io::GeneratedEvent& e) {
                return Click{"user-" + std::to_string(e.random % 50), e.time};
              }));
    // RUNNEL_FAIL_ONCE=FILE: the run fails (an exception in a task) at its
    // 1,000th record unless FILE exists, and creates it: for --restart-attempts.
    if (const char* once = std::getenv("RUNNEL_FAIL_ONCE"); once && *once) {
      raw = raw.map([marker = std::string(once)](Click c) {
        static std::atomic<std::uint64_t> n{0};
        if (++n == 1000 && !std::filesystem::exists(marker)) {
          std::ofstream{marker} << "failed once\n";
          throw std::runtime_error("an injected failure (RUNNEL_FAIL_ONCE)");
        }
        return c;
      });
    }
    auto clicks = raw.with_timestamps(&Click::time, watermarks::bounded_out_of_orderness(20ms));
    // Output `name`: a directory under --output, or the topic PREFIX-name.
    const bool to_kafka = io::is_kafka_url(o.output);
    auto text_out = [&](const std::string& name) {
      io::TextIO t = o.text_output();
      t.path = to_kafka ? o.output + "-" + name : o.output + "/" + name;
      return t;
    };
    auto csv_out = o.csv_output();
    csv_out.path = to_kafka ? o.output + "-totals" : o.output + "/totals";
    auto user = [](const Click& c) { return c.user; };
    clicks.window_into(windows::fixed(1s))
        .map(user)
        .count_per_element()
        .par_do(WindowLine{})
        .write(text_out("windows"));
    clicks.map(user).count_per_element().write(csv_out);
    clicks.map([](const Click& c) { return std::make_pair(c.user, 1); })
        .par_do(RunningCount{})
        .write(text_out("running"));
  });
}
