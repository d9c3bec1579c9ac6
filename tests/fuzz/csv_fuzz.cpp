// libFuzzer target: a CSV line into typed columns (csv::parse_record, what
// every csv_input<T>() runs on the bytes of a file or a topic), and a Nexmark
// event's CSV line. A line either parses or gets an error text; one that
// parses writes back (append_record) to a line that parses to the same record.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_checks.hpp"
#include "fuzz_records.hpp"
#include "runnel/csv.hpp"
#include "runnel/nexmark.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> cols;
  std::string scratch;
  runnel::fuzz::require_round_trip<runnel::fuzz::Row>(
      line,
      [&](std::string_view l, runnel::fuzz::Row& r) {
        return runnel::csv::parse_record(l, r, cols, scratch);
      },
      [](std::string& out, const runnel::fuzz::Row& r) { runnel::csv::append_record(out, r); });
  runnel::fuzz::require_round_trip<runnel::nexmark::Event>(
      line,
      [](std::string_view l, runnel::nexmark::Event& e) {
        return runnel::nexmark::parse_csv(l, e);
      },
      [](std::string& out, const runnel::nexmark::Event& e) {
        runnel::nexmark::append_csv(out, e);
      });
  return 0;
}
