// libFuzzer target: what a member reads from a repartition topic, which any
// client of the cluster can write to. Records with arbitrary keys (the
// header) and payloads, and arbitrary snapshot bytes to restore from: bad
// headers are counted, never trusted; a snapshot either restores or throws
// std::runtime_error; an inbox's own snapshot restores to the same snapshot.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "fuzz_checks.hpp"
#include "io/kafka/repartition_inbox.hpp"

namespace {

using runnel::fuzz::require;

using runnel::io::RepartitionHeader;
using runnel::io::RepartitionInbox;
using runnel::io::RepartitionKind;

// Mostly well-formed headers with fuzzed fields (so the inbox's logic is
// reached), sometimes raw bytes.
std::string header(FuzzedDataProvider& in, int producers) {
  if (in.ConsumeBool()) return in.ConsumeRandomLengthString(40);
  RepartitionHeader h;
  h.kind = static_cast<RepartitionKind>(in.ConsumeIntegralInRange<int>(0, 4));
  h.producer = in.ConsumeIntegralInRange<std::uint32_t>(0, static_cast<std::uint32_t>(producers));
  h.run = in.ConsumeIntegralInRange<std::uint64_t>(0, 4);
  h.epoch = in.ConsumeBool() ? in.ConsumeIntegral<std::int64_t>()
                             : in.ConsumeIntegralInRange<std::int64_t>(-1, 6);
  h.value = in.ConsumeBool() ? in.ConsumeIntegral<std::int64_t>()
                             : in.ConsumeIntegralInRange<std::int64_t>(-1, 6);
  return h.encode();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const int producers = in.ConsumeIntegralInRange<int>(1, 4);
  RepartitionInbox inbox(producers, in.ConsumeIntegralInRange<std::size_t>(0, 4096),
                         in.ConsumeIntegralInRange<std::size_t>(1, 4));
  if (in.ConsumeBool()) {
    try {
      inbox.restore(in.ConsumeRandomLengthString(256));
    } catch (const std::runtime_error&) {
    }
  }
  std::int64_t offset = in.ConsumeIntegralInRange<std::int64_t>(0, 1000);
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
      case 1: {
        const std::string key = header(in, producers);
        inbox.take(offset, key, in.ConsumeRandomLengthString(64));
        offset = in.ConsumeBool() ? inbox.read_from() : offset + 1;
        break;
      }
      case 2: {
        RepartitionInbox::Item item;
        while (inbox.pop(item)) {
          require(item.producer < static_cast<std::uint32_t>(producers));
        }
        (void)inbox.watermark();
        (void)inbox.idle();
        (void)inbox.ended();
        break;
      }
      default: {
        const std::string saved = inbox.snapshot();
        RepartitionInbox again(producers, 4096);
        again.restore(saved);
        require(again.snapshot() == saved);
        break;
      }
    }
  }
  return 0;
}
