#include "core/flag_values.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>

#include "runnel/error.hpp"

namespace runnel {

std::size_t parse_byte_size(const std::string& text, const std::string& flag) {
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  std::size_t i = static_cast<std::size_t>(end - text.data());
  std::string unit = text.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t mult = 0;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    mult = std::size_t{1} << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    mult = std::size_t{1} << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    mult = std::size_t{1} << 30;
  if (ec != std::errc() || i == 0 || mult == 0) {
    throw UserError(flag + " '" + text +
                    "' is not a size: use a number with an optional unit, e.g. 512MiB or 2G");
  }
  if (number > std::numeric_limits<std::size_t>::max() / mult) {
    throw UserError(flag + " '" + text + "' is too large");
  }
  return number * mult;
}

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& flag) {
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  std::string unit = text.substr(static_cast<std::size_t>(end - text.data()));
  std::uint64_t mult = 0;
  if (unit.empty() || unit == "ms")
    mult = 1;
  else if (unit == "s")
    mult = 1000;
  else if (unit == "m" || unit == "min")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  if (ec != std::errc() || end == text.data() || mult == 0 || number == 0) {
    throw UserError(flag + " '" + text +
                    "' is not a duration: use a positive number with a unit, e.g. 200ms, 1s, 2min");
  }
  // Found by tests/fuzz/flags_fuzz: "555455555555555m" overflowed to a negative time.
  if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / mult)
    throw UserError(flag + " '" + text + "' is too long");
  return std::chrono::milliseconds(static_cast<std::int64_t>(number * mult));
}

}  // namespace runnel
