#pragma once
// What the fuzz targets check besides the sanitizers: a property that must
// hold (an abort, which libFuzzer reports with the input), and that a record
// a decoder accepted writes back to text it reads back the same.
#include <cstdlib>
#include <string>
#include <string_view>

namespace runnel::fuzz {

inline void require(bool ok) {
  if (!ok) std::abort();
}

// parse(text, record) returns an error text (empty: parsed); append(out,
// record) writes it. A record parsed from `text` is written, parsed again and
// written again: both writes must be equal.
template <class T, class Parse, class Append>
void require_round_trip(std::string_view text, Parse parse, Append append) {
  T first;
  if (!parse(text, first).empty()) return;
  std::string written;
  append(written, first);
  T second;
  require(parse(written, second).empty());
  std::string again;
  append(again, second);
  require(again == written);
}

}  // namespace runnel::fuzz
