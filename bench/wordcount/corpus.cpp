// The corpus of bench/wordcount (run.sh): deterministic English-like text.
//
//   wordcount_corpus [--size-mb N] [--seed S] [--vocab V] [--zipf X] OUTPUT|-
//
// Writes N MiB (2^20 bytes; it stops at the first line end past N MiB) of
// lines of 10 to 15 words. The words come from a vocabulary of V distinct
// lowercase words (default 1,000,000; lengths 1 to 20 letters, mostly 3 to 12,
// letters drawn with English frequencies, about 2% numbers), and a word's
// frequency follows Zipf's law, P(rank r) ~ 1 / r^X (default X = 1.0), with
// the short words the frequent ones. Some words are proper nouns (always
// capitalised), sentences start with a capital, a few words are in capitals;
// punctuation, quotes, parentheses, hyphens, "'s" and the odd UTF-8 dash
// separate words. The same flags give the same bytes on every machine: the
// generator uses its own PRNG (xoshiro256**) and no std:: distributions.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& x : s_) x = splitmix(seed);
  }
  std::uint64_t next() {
    std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n).
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // True with probability `per_mille` / 1000.
  bool chance(std::uint32_t per_mille) { return below(1000) < per_mille; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t s_[4];
};

// Walker/Vose alias table: O(1) sampling of a discrete distribution.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights) {
    const std::size_t n = weights.size();
    slots_.resize(n);
    double total = 0;
    for (double w : weights) total += w;
    std::vector<double> scaled(n);
    std::vector<std::uint32_t> small, large;
    for (std::size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      std::uint32_t s = small.back(), l = large.back();
      small.pop_back();
      set(s, scaled[s], l);
      scaled[l] = (scaled[l] + scaled[s]) - 1.0;
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (std::uint32_t i : large) set(i, 1.0, i);
    for (std::uint32_t i : small) set(i, 1.0, i);
  }
  std::uint32_t sample(Rng& rng) const {
    std::uint64_t r = rng.next();
    auto i = static_cast<std::uint32_t>(((r >> 32) * slots_.size()) >> 32);
    const Slot& s = slots_[i];
    return static_cast<std::uint32_t>(r & 0xffffffffu) < s.threshold ? i : s.alias;
  }

 private:
  void set(std::uint32_t i, double p, std::uint32_t alias) {
    double t = std::min(p, 1.0) * 4294967296.0;
    slots_[i].threshold = t >= 4294967295.0 ? 0xffffffffu : static_cast<std::uint32_t>(t);
    slots_[i].alias = alias;
  }
  struct Slot {  // together: one cache miss a sample
    std::uint32_t threshold;
    std::uint32_t alias;
  };
  std::vector<Slot> slots_;
};

struct Vocabulary {
  std::string chars;                 // all words, back to back
  std::vector<std::uint32_t> start;  // by rank
  std::vector<std::uint8_t> length;  // by rank
  std::vector<std::uint8_t> proper;  // by rank: always capitalised
  std::string_view word(std::uint32_t r) const { return {chars.data() + start[r], length[r]}; }
};

Vocabulary make_vocabulary(std::uint32_t size, Rng& rng) {
  // English letter frequencies (per 10,000), a to z.
  static const int kLetterFreq[26] = {817, 149, 278, 425, 1270, 223, 202, 609, 697,
                                      15,  77,  403, 241, 675,  751, 193, 10,  599,
                                      633, 906, 276, 98,  236,  15,  197, 7};
  std::vector<char> letters;
  for (int i = 0; i < 26; ++i)
    letters.insert(letters.end(), static_cast<std::size_t>(kLetterFreq[i]),
                   static_cast<char>('a' + i));
  // How many distinct words of each length (word types, not tokens).
  // (Few one- and two-letter words: "a", "i", "of", "to", ...)
  static const double kLengthWeight[21] = {0,    0.0003, 0.01, 1.5,  5.0,  8.0,  11.0,
                                           13.0, 13.5,   12.5, 10.5, 8.0,  6.0,  4.0,
                                           2.8,  1.4,    0.7,  0.35, 0.15, 0.08, 0.04};
  std::vector<double> len_cdf;
  double acc = 0;
  for (double w : kLengthWeight) len_cdf.push_back(acc += w);

  struct Candidate {
    double order;  // sorts frequent (short) words first
    std::string word;
  };
  std::vector<Candidate> words;
  words.reserve(size);
  std::unordered_set<std::string> seen;
  seen.reserve(size * 2);
  std::string w;
  while (words.size() < size) {
    w.clear();
    if (rng.chance(20)) {  // a number: 1 to 6 digits
      std::uint32_t digits = 1 + rng.below(6);
      w += static_cast<char>('1' + rng.below(9));
      for (std::uint32_t i = 1; i < digits; ++i) w += static_cast<char>('0' + rng.below(10));
    } else {
      double u = rng.unit() * acc;
      std::size_t len = static_cast<std::size_t>(
          std::upper_bound(len_cdf.begin(), len_cdf.end(), u) - len_cdf.begin());
      len = std::clamp<std::size_t>(len, 1, 20);
      for (std::size_t i = 0; i < len; ++i)
        w += letters[rng.below(static_cast<std::uint32_t>(letters.size()))];
    }
    if (!seen.insert(w).second) continue;
    // Short words tend to be the frequent ones, with plenty of exceptions.
    double order = static_cast<double>(w.size()) * (0.3 + rng.unit()) + (w[0] < 'a' ? 3.0 : 0.0);
    words.push_back({order, w});
  }
  std::stable_sort(words.begin(), words.end(),
                   [](const Candidate& a, const Candidate& b) { return a.order < b.order; });
  Vocabulary v;
  v.start.reserve(size);
  v.length.reserve(size);
  v.proper.reserve(size);
  for (std::size_t r = 0; r < words.size(); ++r) {
    v.start.push_back(static_cast<std::uint32_t>(v.chars.size()));
    v.length.push_back(static_cast<std::uint8_t>(words[r].word.size()));
    v.chars += words[r].word;
    // The 100 most frequent words are function words, never proper nouns.
    bool letter = words[r].word[0] >= 'a';
    v.proper.push_back(r >= 100 && letter && rng.chance(30) ? 1 : 0);
  }
  return v;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "wordcount_corpus: %s\n"
               "usage: wordcount_corpus [--size-mb N] [--seed S] [--vocab V] [--zipf X] OUTPUT|-\n"
               "  --size-mb N  MiB to write (default 512)\n"
               "  --seed S     PRNG seed (default 20240601)\n"
               "  --vocab V    distinct words (default 1000000)\n"
               "  --zipf X     Zipf exponent (default 1.0)\n",
               why);
  std::exit(2);
}

std::uint64_t parse_uint(const char* flag, const char* text) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') {
    std::fprintf(stderr, "wordcount_corpus: %s '%s' is not a non-negative integer\n", flag, text);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t size_mb = 512;
  std::uint64_t seed = 20240601;
  std::uint64_t vocab_size = 1000000;
  double zipf = 1.0;
  const char* output = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage("a flag needs a value");
      return argv[++i];
    };
    if (a == "--size-mb") {
      size_mb = parse_uint("--size-mb", value());
    } else if (a == "--seed") {
      seed = parse_uint("--seed", value());
    } else if (a == "--vocab") {
      vocab_size = parse_uint("--vocab", value());
    } else if (a == "--zipf") {
      const char* t = value();
      char* end = nullptr;
      zipf = std::strtod(t, &end);
      if (end == t || *end != '\0' || !(zipf > 0)) usage("--zipf needs a positive number");
    } else if (a == "-h" || a == "--help") {
      usage("writes a deterministic Zipf-distributed text corpus");
    } else if (a.size() > 1 && a[0] == '-') {
      usage("unknown flag");
    } else if (output == nullptr) {
      output = argv[i];
    } else {
      usage("one OUTPUT only");
    }
  }
  if (output == nullptr) usage("no OUTPUT given");
  if (size_mb == 0) usage("--size-mb must be at least 1");
  if (vocab_size < 1000 || vocab_size > 50000000)
    usage("--vocab must be between 1000 and 50000000");

  auto t0 = std::chrono::steady_clock::now();
  Rng rng(seed);
  Vocabulary vocab = make_vocabulary(static_cast<std::uint32_t>(vocab_size), rng);
  std::vector<double> weights(vocab_size);
  for (std::size_t r = 0; r < vocab_size; ++r)
    weights[r] = 1.0 / std::pow(static_cast<double>(r + 1), zipf);
  AliasTable zipf_table(weights);
  weights = {};

  std::FILE* out = std::strcmp(output, "-") == 0 ? stdout : std::fopen(output, "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "wordcount_corpus: cannot create '%s': %s\n", output,
                 std::strerror(errno));
    return 2;
  }

  const std::uint64_t target = size_mb << 20;
  std::uint64_t written = 0, lines = 0, tokens = 0;
  std::string buf;
  buf.reserve((1 << 20) + 4096);
  bool sentence_start = true;
  auto flush = [&] {
    if (std::fwrite(buf.data(), 1, buf.size(), out) != buf.size()) {
      std::fprintf(stderr, "wordcount_corpus: write to '%s' failed: %s\n", output,
                   std::strerror(errno));
      std::exit(1);
    }
    written += buf.size();
    buf.clear();
  };
  while (written + buf.size() < target) {
    std::uint32_t n = 10 + rng.below(6);
    for (std::uint32_t i = 0; i < n; ++i) {
      std::uint32_t r = zipf_table.sample(rng);
      std::string_view w = vocab.word(r);
      ++tokens;
      if (i > 0) {
        if (rng.chance(10)) {
          buf += '-';  // a compound: well-known
        } else if (rng.chance(2)) {
          buf += " \xE2\x80\x94 ";  // an em dash, in UTF-8
        } else {
          buf += ' ';
        }
      }
      std::uint32_t mark = rng.below(1000);
      char close = 0;
      if (mark < 6) {
        buf += '"';
        close = '"';
      } else if (mark < 9) {
        buf += '(';
        close = ')';
      }
      std::size_t at = buf.size();
      buf += w;
      if (rng.chance(1)) {
        for (std::size_t k = at; k < buf.size(); ++k) {
          if (buf[k] >= 'a' && buf[k] <= 'z') buf[k] = static_cast<char>(buf[k] - 32);
        }
      } else if ((sentence_start || vocab.proper[r]) && buf[at] >= 'a' && buf[at] <= 'z') {
        buf[at] = static_cast<char>(buf[at] - 32);
      }
      sentence_start = false;
      if (rng.chance(5)) buf += "'s";
      if (close) buf += close;
      if (i + 1 == n) {
        buf += rng.chance(900) ? "." : rng.chance(500) ? "?" : "!";
        sentence_start = true;
      } else {
        std::uint32_t p = rng.below(1000);
        if (p < 50) {
          buf += ',';
        } else if (p < 70) {
          buf += '.';
          sentence_start = true;
        } else if (p < 76) {
          buf += ';';
        } else if (p < 80) {
          buf += ':';
        }
      }
    }
    buf += '\n';
    ++lines;
    if (buf.size() >= (1 << 20)) flush();
  }
  flush();
  if (out != stdout ? std::fclose(out) != 0 : std::fflush(out) != 0) {
    std::fprintf(stderr, "wordcount_corpus: write to '%s' failed: %s\n", output,
                 std::strerror(errno));
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr,
               "wordcount_corpus: %llu bytes, %llu lines, %llu words (vocabulary %llu, zipf %.2f, "
               "seed %llu) in "
               "%.1f s\n",
               static_cast<unsigned long long>(written), static_cast<unsigned long long>(lines),
               static_cast<unsigned long long>(tokens), static_cast<unsigned long long>(vocab_size),
               zipf, static_cast<unsigned long long>(seed), secs);
  return 0;
}
