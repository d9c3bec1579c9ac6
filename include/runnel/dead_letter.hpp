#pragma once
// A record that could not be read, with where it came from and why. Sources
// send these to the pipeline's dead-letter output instead of dropping them.
#include <cstdint>
#include <string>

#include "runnel/fields.hpp"

namespace runnel {

struct DeadLetter {
  std::string source;      // file path (or topic, for Kafka)
  std::uint64_t line = 0;  // 1-based line number in the file (or offset)
  std::string reason;      // what was wrong, in words
  std::string record;      // the raw record
  bool operator==(const DeadLetter&) const = default;
};
RUNNEL_FIELDS(DeadLetter, source, line, reason, record);

}  // namespace runnel
