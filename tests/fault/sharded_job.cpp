// The job tests/fault/scale_out_test.sh runs as several members and kills:
// each line upper-cased and tagged with its length, paced so a run lasts long
// enough to be killed in the middle. Element-wise only (the first step of
// scaling out spreads such jobs; keyed ones need repartition topics).
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
  return run_main(argc, argv, [per_ms](Pipeline& p, const Options& o) {
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
