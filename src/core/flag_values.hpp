#pragma once
// The values of duration and size flags, shared by every command and
// run_main program (and fuzzed: tests/fuzz/flags_fuzz).
#include <chrono>
#include <cstddef>
#include <string>

namespace runnel {

// "200ms", "1s", "2min", "500" (milliseconds): a duration. Throws UserError naming the flag.
std::chrono::milliseconds parse_duration(const std::string& text, const std::string& flag);

// "512MiB", "2G", "1000000": a byte count. Throws UserError naming the flag.
std::size_t parse_byte_size(const std::string& text, const std::string& flag);

}  // namespace runnel
