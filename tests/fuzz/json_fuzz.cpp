// libFuzzer target: a JSON value into a typed struct (json::from_json, what
// JSON lines files and JSON Kafka values are decoded with), and a Nexmark
// event's JSON line. A value either decodes or gets an error text; one that
// decodes writes back to JSON that decodes to the same record.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_checks.hpp"
#include "fuzz_records.hpp"
#include "runnel/json.hpp"
#include "runnel/nexmark.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  runnel::json::Document doc;
  runnel::fuzz::require_round_trip<runnel::fuzz::Doc>(
      text,
      [&](std::string_view t, runnel::fuzz::Doc& d) { return runnel::json::from_json(t, d, doc); },
      [](std::string& out, const runnel::fuzz::Doc& d) { runnel::json::append(out, d); });
  runnel::fuzz::require_round_trip<runnel::nexmark::Event>(
      text,
      [](std::string_view t, runnel::nexmark::Event& e) {
        return runnel::nexmark::parse_json(t, e);
      },
      [](std::string& out, const runnel::nexmark::Event& e) {
        runnel::nexmark::append_json(out, e);
      });
  return 0;
}
