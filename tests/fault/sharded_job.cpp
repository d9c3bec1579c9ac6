// The job tests/fault/scale_out_test.sh runs as several members and kills:
// each line upper-cased and tagged with its length, paced so a run lasts long
// enough to be killed in the middle. With RUNNEL_FAULT_KEYED=1, a keyed one
// instead: the lines counted by their number modulo 100 (so every shard's
// lines reach every other shard's keys through a repartition topic).
//
//   sharded_job --input kafka://B/lines --bounded --output OUT --mode streaming
//               --checkpoint-dir CK --job-id ID
//
// RUNNEL_FAULT_RATE (lines a second per instance, default 2000) paces it.
#include <runnel/runnel.hpp>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  using namespace runnel;
  const char* rate_env = std::getenv("RUNNEL_FAULT_RATE");
  const std::uint64_t per_ms =
      std::max<std::uint64_t>(1, (rate_env ? std::strtoull(rate_env, nullptr, 10) : 2000) / 1000);
  const bool keyed = std::getenv("RUNNEL_FAULT_KEYED") != nullptr;
  return run_main(argc, argv, [per_ms, keyed](Pipeline& p, const Options& o) {
    if (keyed) {
      p.read(o.text_input())
          .map([per_ms](const std::string& line) {
            thread_local std::uint64_t n = 0;
            if (++n % per_ms == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            std::uint64_t number = 0;
            for (char c : line)
              if (std::isdigit(static_cast<unsigned char>(c))) number = number * 10 + (c - '0');
            return "k" + std::to_string(number % 100);
          })
          .count_per_element()
          .map([](const std::pair<std::string, std::uint64_t>& kv) {
            return kv.first + "," + std::to_string(kv.second);
          })
          .write(o.text_output());
      return;
    }
    p.read(o.text_input())
        .map([per_ms](const std::string& line) {
          thread_local std::uint64_t n = 0;
          if (++n % per_ms == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          std::string out = line;
          for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          return out + "," + std::to_string(line.size());
        })
        .write(o.text_output());
  });
}
