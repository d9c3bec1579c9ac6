#include "nexmark_command.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "api/job_cli.hpp"
#include "nexmark/query.hpp"
#include "runnel/runnel.hpp"

namespace runnel::tools {
namespace {

struct GeneratorFlags {
  std::uint64_t events = 0;
  std::uint64_t rate = 10'000'000;
  std::uint64_t seed = 0;
  std::int64_t base_time = 1'700'000'000'000;
  std::string max_delay;
  double pace = 0;

  void add_to(CLI::App& cmd, bool events_required) {
    auto* e = cmd.add_option("--events", events, "how many events (0: unbounded)");
    if (events_required) e->required();
    cmd.add_option("--rate", rate,
                   "events per second of event time (default 10000000: 100M events span 10 s)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000'000}));
    cmd.add_option("--seed", seed, "the random seed (default 0)");
    cmd.add_option("--base-time", base_time,
                   "event time of the first event, epoch ms (default 1700000000000)");
    cmd.add_option("--max-delay", max_delay,
                   "out of order: each event's time moved back by up to this, e.g. 2s (default 0)");
    cmd.add_option("--pace", pace,
                   "events per second of processing time over all shards (default: as fast as "
                   "possible)");
  }
  nexmark::GeneratorConfig config() const {
    nexmark::GeneratorConfig c;
    c.events = events;
    c.rate = rate;
    c.seed = seed;
    c.base_time = base_time;
    c.max_delay_ms = max_delay.empty() ? 0 : api::parse_duration(max_delay, "--max-delay").count();
    c.pace = pace;
    return c;
  }
};

// Lines of events (JSON or CSV) into events; lines that do not parse are
// rejected with the reason.
struct ParseEventsFn : DoFn<std::string, nexmark::Event, DeadLetter> {
  std::string source;
  bool csv = false;
  void process(const std::string& line, Emitters<nexmark::Event, DeadLetter>& out) {
    nexmark::Event e;
    std::string err = csv ? nexmark::parse_csv(line, e) : nexmark::parse_json(line, e);
    if (err.empty()) {
      out.template get<0>().emit(std::move(e));
    } else {
      out.template get<1>().emit(DeadLetter{source, 0, err, line});
    }
  }
};

struct RunFlags {
  api::JobFlags job;
  GeneratorFlags generator;
  std::string query;
  std::string source = "generator";
  std::string sink = "blackhole";
  std::string update_interval = "1s";
};

// Flags that do not fit each other: prints why and returns 2; 0 if they fit.
int check_run_flags(const RunFlags& f) {
  if (f.source != "generator" && f.job.options.input.empty()) {
    std::fprintf(stderr,
                 "runnel: error: --source %s needs --input (a directory, glob or kafka:// url)\n",
                 f.source.c_str());
    return 2;
  }
  if (f.sink != "blackhole" && f.job.options.output.empty()) {
    std::fprintf(stderr, "runnel: error: --sink %s needs --output (a directory or kafka:// url)\n",
                 f.sink.c_str());
    return 2;
  }
  if (f.source == "generator" && f.generator.events == 0 && f.job.mode == "batch") {
    std::fprintf(stderr, "runnel: error: --mode batch needs a bounded source: give --events N\n");
    return 2;
  }
  return 0;
}

// The events: generated, or parsed from files (rejected lines to _rejected
// beside a file output, else to stderr).
PCollection<nexmark::Event> read_events(Pipeline& p, const Options& o, const RunFlags& f) {
  nexmark::GeneratorConfig config = f.generator.config();
  if (f.source == "generator") return p.read(io::nexmark(config));
  ParseEventsFn parse;
  parse.source = o.input;
  parse.csv = o.format == "csv";  // the job's --format; JSON unless it says csv
  auto [parsed, rejected] = p.read(o.text_input()).par_do(parse);
  if (!o.output.empty() && !io::is_kafka_url(o.output)) {
    rejected.write(
        io::csv((std::filesystem::path(o.output) / "_rejected").string()).without_success_marker());
  } else {
    rejected
        .map([](const DeadLetter& d) {
          std::fprintf(stderr, "runnel: warning: rejected event (%s): %s\n", d.reason.c_str(),
                       d.record.c_str());
          return 0;
        })
        .discard();
  }
  return parsed;
}

nexmark::Sink sink_of(const Options& o, const RunFlags& f) {
  nexmark::Sink sink;
  if (f.sink == "file") {
    sink.kind = nexmark::Sink::Kind::kFile;
    sink.path = o.output;
  } else if (f.sink == "kafka") {
    if (!io::is_kafka_url(o.output))
      throw UserError("--sink kafka needs a kafka://HOST:PORT/TOPIC --output, not '" + o.output +
                      "'");
    sink.kind = nexmark::Sink::Kind::kKafka;
    sink.path = o.output;
  }
  return sink;
}

int run_query(RunFlags& f) {
  const nexmark::Query* q = nexmark::find_query(f.query);
  if (q == nullptr) {
    std::string names;
    for (const auto& x : nexmark::queries())
      names += (names.empty() ? "" : ", ") + std::string(x.name);
    std::fprintf(stderr, "runnel: error: --query '%s' is not a Nexmark query; they are %s\n",
                 f.query.c_str(), names.c_str());
    return 2;
  }
  if (int rc = check_run_flags(f); rc != 0) return rc;
  // Latency needs a schedule to measure against: the paced generator's.
  const nexmark::GeneratorConfig generated = f.generator.config();
  const bool streaming =
      f.job.mode == "streaming" || (f.job.mode == "auto" && generated.events == 0);
  std::shared_ptr<nexmark::LatencyRecorder> latency;
  if (streaming && f.source == "generator" && generated.pace > 0) {
    Timestamp span_end = generated.events == 0
                             ? kMaxTimestamp / 2
                             : generated.base_time +
                                   static_cast<Timestamp>(generated.events * 1000 / generated.rate);
    latency = std::make_shared<nexmark::LatencyRecorder>(generated.base_time, generated.rate,
                                                         generated.pace, span_end);
  }
  auto build = [&f, q, latency](Pipeline& p, const Options& o) {
    nexmark::QueryContext ctx;
    ctx.update_interval = api::parse_duration(f.update_interval, "--update-interval");
    const auto delay = std::chrono::milliseconds(f.generator.config().max_delay_ms);
    auto timed = read_events(p, o, f).with_timestamps(
        nexmark::event_time,
        delay.count() > 0 ? watermarks::bounded_out_of_orderness(delay) : watermarks::ascending());
    nexmark::Sink sink = sink_of(o, f);
    sink.latency = latency;
    if (latency) latency->start();
    q->build(timed, ctx, sink);
  };
  int rc = api::run_job("nexmark " + f.query, f.job, build, false);
  if (rc == 0 && latency) {
    std::printf(
        "runnel: nexmark %s latency (sink arrival - when the generator was due to emit "
        "the row's event time): %s\n",
        f.query.c_str(), latency->summary().c_str());
  } else if (rc == 0 && streaming && f.source == "generator") {
    std::printf(
        "runnel: nexmark %s latency: not measured (give --pace: latency is measured "
        "against the paced generator's schedule)\n",
        f.query.c_str());
  }
  return rc;
}

int generate(GeneratorFlags& g, const std::string& output, const std::string& format,
             int parallelism) {
  if (output.empty()) {
    std::fprintf(stderr,
                 "runnel: error: nexmark generate needs --output DIR or kafka://HOST:PORT/TOPIC\n");
    return 2;
  }
  api::JobFlags job;
  job.options.output = output;
  job.parallelism = parallelism;
  job.no_progress = true;
  return api::run_job(
      "nexmark generate", job,
      [&](Pipeline& p, const Options& o) {
        p.read(io::nexmark(g.config()))
            .map([csv = format == "csv"](const nexmark::Event& e) {
              std::string line;
              if (csv) {
                nexmark::append_csv(line, e);
              } else {
                nexmark::append_json(line, e);
              }
              return line;
            })
            .write(o.text_output());
      },
      false);
}

}  // namespace

std::function<int()> add_nexmark_commands(CLI::App& app) {
  auto* nexmark = app.add_subcommand("nexmark", "the Nexmark benchmark: its events and queries");
  nexmark->require_subcommand(1);

  auto gen = std::make_shared<GeneratorFlags>();
  auto gen_output = std::make_shared<std::string>();
  auto gen_format = std::make_shared<std::string>("json");
  auto gen_parallelism = std::make_shared<int>(1);
  auto* gen_cmd = nexmark->add_subcommand(
      "generate", "write Nexmark events as JSON or CSV lines to files or a Kafka topic");
  gen->add_to(*gen_cmd, true);
  gen_cmd
      ->add_option("--output,-o,--topic", *gen_output,
                   "output directory (empty or absent), or kafka://HOST:PORT/TOPIC")
      ->required();
  gen_cmd->add_option("--format", *gen_format, "json (default) or csv")
      ->check(CLI::IsMember({"json", "csv"}));
  gen_cmd->add_option("--parallelism,-p", *gen_parallelism, "writers (default 1)")
      ->check(CLI::Range(1, 1024));

  auto run = std::make_shared<RunFlags>();
  auto* run_cmd = nexmark->add_subcommand("run", "run one Nexmark query and print its throughput");
  run_cmd->add_option("--query,-q", run->query, "q0 ... q22")->required();
  run->generator.add_to(*run_cmd, false);
  run_cmd
      ->add_option("--source", run->source,
                   "generator (default), file (--input DIR of `nexmark generate`) or kafka "
                   "(--input kafka://HOST:PORT/TOPIC)")
      ->check(CLI::IsMember({"generator", "file", "kafka"}));
  run_cmd
      ->add_option("--sink", run->sink,
                   "blackhole (default: counted, not kept), file (JSON lines in --output) or "
                   "kafka (--output kafka://HOST:PORT/TOPIC)")
      ->check(CLI::IsMember({"blackhole", "file", "kafka"}));
  run_cmd->add_option("--update-interval", run->update_interval,
                      "streaming: how often unwindowed aggregations emit updates (default 1s)");
  api::add_job_flags(*run_cmd, run->job, true);
  // The job flag, with what it means here.
  run_cmd->get_option("--format")->description("of file and kafka sources: json (default) or csv");

  auto* list_cmd = nexmark->add_subcommand("queries", "list the queries");

  return [=]() -> int {
    if (gen_cmd->parsed()) return generate(*gen, *gen_output, *gen_format, *gen_parallelism);
    if (run_cmd->parsed()) return run_query(*run);
    if (list_cmd->parsed()) {
      for (const auto& q : nexmark::queries()) std::printf("%-4s %s\n", q.name, q.description);
      return 0;
    }
    return -1;
  };
}

}  // namespace runnel::tools
