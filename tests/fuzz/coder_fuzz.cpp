// libFuzzer target: Coder<T> decoding, what reads `.coded<T>()` Kafka values,
// spill files and exchanged batches. Bytes either decode or throw
// DecodeError (nothing else, and no crash or huge allocation); a value that
// decodes encodes to bytes that decode to the same value. The first byte
// chooses the type.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>

#include "fuzz_checks.hpp"
#include "fuzz_records.hpp"
#include "runnel/coder.hpp"
#include "runnel/detail/batch_coder.hpp"
#include "runnel/nexmark.hpp"

namespace {

using runnel::fuzz::require;

template <class T>
void round_trip(std::string_view bytes) {
  T value;
  try {
    value = runnel::decode_from_string<T>(bytes);
  } catch (const runnel::DecodeError&) {
    return;
  }
  const std::string written = runnel::encode_to_string(value);
  const std::string again = runnel::encode_to_string(runnel::decode_from_string<T>(written));
  require(again == written);
}

void batch(std::string_view bytes) {
  runnel::ByteReader r(bytes);
  try {
    auto b = runnel::detail::decode_batch<runnel::fuzz::Row>(r);
    require(b != nullptr);
  } catch (const runnel::DecodeError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      round_trip<runnel::fuzz::Row>(bytes);
      break;
    case 1:
      round_trip<runnel::fuzz::Doc>(bytes);
      break;
    case 2:
      round_trip<runnel::nexmark::Event>(bytes);
      break;
    case 3:
      round_trip<std::variant<std::int64_t, std::string, double>>(bytes);
      break;
    case 4:
      round_trip<std::tuple<std::optional<std::string>, std::map<std::string, std::int32_t>>>(
          bytes);
      break;
    default:
      batch(bytes);
      break;
  }
  return 0;
}
