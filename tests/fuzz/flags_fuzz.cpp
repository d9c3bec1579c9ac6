// libFuzzer target: the values of duration and size flags (--checkpoint-interval
// 200ms, --memory-budget 512MiB). Text either parses to a positive value the
// text means, or is refused with runnel::UserError naming the flag.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/flag_values.hpp"
#include "fuzz_checks.hpp"
#include "runnel/error.hpp"

using runnel::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    require(runnel::parse_duration(text, "--checkpoint-interval").count() > 0);
  } catch (const runnel::UserError& e) {
    require(std::string(e.what()).find("--checkpoint-interval") != std::string::npos);
  }
  try {
    (void)runnel::parse_byte_size(text, "--memory-budget");
  } catch (const runnel::UserError& e) {
    require(std::string(e.what()).find("--memory-budget") != std::string::npos);
  }
  return 0;
}
