// bench/nexmark/baseline: what the Nexmark numbers are measured against in
// the same run. Two plain single-threaded loops, no runnel operators:
//   generator  event_at(n) for every n, the event dropped (the floor every
//              query pays: Flink's figures include its generator too)
//   q0         the generator plus q0's work: each bid turned into its row
// Prints one line each: "<name> <events> events <seconds> s <events/s> records/s".
//
//   nexmark_baseline [--events N]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <runnel/nexmark.hpp>

namespace {
using namespace runnel;

template <class F>
void measure(const char* name, std::uint64_t events, F&& body) {
  auto start = std::chrono::steady_clock::now();
  std::uint64_t kept = body();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s %llu events %.2f s %.0f records/s (%llu kept)\n", name,
              static_cast<unsigned long long>(events), s, static_cast<double>(events) / s,
              static_cast<unsigned long long>(kept));
}

// q0's output row, as examples/nexmark's (kept here so the baseline does not
// link the examples).
struct Row {
  std::int64_t auction, bidder, price, dateTime;
  std::string extra;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"plain-loop baselines for bench/nexmark/run.sh"};
  std::uint64_t events = 10'000'000;
  app.add_option("--events", events, "events per loop");
  CLI11_PARSE(app, argc, argv);
  nexmark::GeneratorConfig config;
  config.events = events;

  measure("generator", events, [&] {
    std::uint64_t bids = 0;
    for (std::uint64_t n = 0; n < events; ++n) {
      nexmark::Event e = nexmark::event_at(config, n);
      bids += nexmark::is_bid(e);
    }
    return bids;
  });
  measure("q0", events, [&] {
    // Rows go through a batch as they would between operators, then are dropped.
    std::vector<Row> rows;
    rows.reserve(1024);
    std::uint64_t kept = 0;
    for (std::uint64_t n = 0; n < events; ++n) {
      nexmark::Event e = nexmark::event_at(config, n);
      if (!nexmark::is_bid(e)) continue;
      nexmark::Bid& b = e.bid();
      rows.push_back(Row{b.auction, b.bidder, b.price, b.dateTime, std::move(b.extra)});
      if (rows.size() == 1024) {
        kept += rows.size();
        rows.clear();
      }
    }
    return kept + rows.size();
  });
  return 0;
}
