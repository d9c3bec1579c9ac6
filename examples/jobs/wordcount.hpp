#pragma once
// Word count, as in Flink's and Beam's first example. A word is a maximal run
// of ASCII letters and digits, lowercased; every other byte separates words.
// Output: CSV lines "word,count".
#include <runnel/runnel.hpp>

namespace runnel::examples {

// Splits a line into lowercased words without allocating: a word up to 15
// bytes fits the string's inline buffer.
inline void split_words(const std::string& line, Emitter<std::string>& out) {
  std::string word;
  for (char c : line) {
    unsigned u = static_cast<unsigned char>(c);
    bool alnum = (u - 'a' < 26u) || (u - 'A' < 26u) || (u - '0' < 10u);
    if (alnum) {
      word += static_cast<char>(u - 'A' < 26u ? u + 32 : u);
    } else if (!word.empty()) {
      out.emit(word);
      word.clear();
    }
  }
  if (!word.empty()) out.emit(std::move(word));
}

inline void wordcount(Pipeline& p, const Options& o) {
  p.read(o.text_input()).flat_map(split_words).count_per_element().write(o.csv_output());
}

}  // namespace runnel::examples
