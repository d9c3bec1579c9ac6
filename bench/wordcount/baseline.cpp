// The baseline of bench/wordcount (run.sh): a plain single-threaded word
// count, the way one would write it by hand. Same definition of a word as
// runnel's: a maximal run of ASCII letters and digits, lowercased.
//   wordcount_baseline FILE OUTPUT.csv
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <unordered_map>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: wordcount_baseline FILE OUTPUT.csv\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "wordcount_baseline: cannot open '%s'\n", argv[1]);
    return 2;
  }
  std::unordered_map<std::string, std::uint64_t> counts;
  std::string word;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof(buf));
    std::streamsize n = in.gcount();
    for (std::streamsize i = 0; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(buf[i]);
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        word += static_cast<char>(c);
      } else if (c >= 'A' && c <= 'Z') {
        word += static_cast<char>(c + 32);
      } else if (!word.empty()) {
        ++counts[word];
        word.clear();
      }
    }
  }
  if (!word.empty()) ++counts[word];
  std::FILE* out = std::fopen(argv[2], "w");
  if (out == nullptr) {
    std::fprintf(stderr, "wordcount_baseline: cannot create '%s'\n", argv[2]);
    return 2;
  }
  for (const auto& [w, n] : counts)
    std::fprintf(out, "%s,%llu\n", w.c_str(), static_cast<unsigned long long>(n));
  return std::fclose(out) == 0 ? 0 : 1;
}
