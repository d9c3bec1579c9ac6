// libFuzzer target: a spill file read back (SpillReader, then each record's
// batch through Coder<T>), as after a disk fault damaged it. Every record is
// read or the reader throws DecodeError; a length the file cannot hold must
// not be allocated.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "fuzz_records.hpp"
#include "runnel/coder.hpp"
#include "runnel/detail/batch_coder.hpp"
#include "runnel/detail/spill_file.hpp"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path file =
      fs::temp_directory_path() / ("runnel-spill-fuzz-" + std::to_string(::getpid()));
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    runnel::detail::SpillReader reader(file);
    std::string_view record;
    while (reader.next(record)) {
      runnel::ByteReader r(record);
      (void)runnel::detail::decode_batch<runnel::fuzz::Row>(r);
    }
  } catch (const runnel::DecodeError&) {
  }
  return 0;
}
