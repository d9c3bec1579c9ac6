// Reading row logs (the memory backend's checkpoint files) as a restore
// does: in chunks, a record larger than a chunk included, and a log cut short
// blamed on the log. The files are written here by the format row_log.hpp
// documents, not by RowLog, so a reader that agrees only with its writer fails.
#include <gtest/gtest.h>

#include <fstream>
#include <runnel/coder.hpp>
#include <runnel/detail/row_log.hpp>
#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace {
using namespace runnel;

std::string key_of(int key_group, const std::string& rest) {
  std::string k;
  k.push_back(static_cast<char>(key_group >> 8));
  k.push_back(static_cast<char>(key_group & 0xff));
  return k + rest;
}

// A log of (key, value) records; value "" with removed = a removed row.
struct Record {
  std::string key;
  std::string value;
  bool removed = false;
};

std::string log_bytes(const std::vector<Record>& records) {
  std::string out = "runnel-rows 1\n";
  ByteWriter w(out);
  for (const auto& r : records) {
    w.put_varint(r.key.size());
    w.put_bytes(r.key.data(), r.key.size());
    w.put_varint(r.removed ? 0 : r.value.size() + 1);
    w.put_bytes(r.value.data(), r.value.size());
  }
  return out;
}

void write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<Record> scan(const std::filesystem::path& dir, int first, int last) {
  std::vector<Record> got;
  detail::scan_row_logs(dir, first, last, [&](std::string_view k, const std::string_view* v) {
    got.push_back({std::string(k), v ? std::string(*v) : std::string(), v == nullptr});
  });
  return got;
}

bool operator==(const Record& a, const Record& b) {
  return a.key == b.key && a.value == b.value && a.removed == b.removed;
}

TEST(RowLogs, ReadInChunksOldestFirstOnlyTheAskedKeyGroups) {
  runnel::testing::ScratchDir dir;
  std::vector<Record> first, second;
  // Enough small records to cross several 4 MB chunks, and one 9 MB value.
  for (int i = 0; i < 200'000; ++i)
    first.push_back({key_of(i % 8, "k" + std::to_string(i)), std::string(40, 'a' + i % 26)});
  first.push_back({key_of(3, "big"), std::string(9 << 20, 'x')});
  first.push_back({key_of(3, "after-big"), "y"});
  second.push_back({key_of(3, "k3"), "", true});
  second.push_back({key_of(5, "k5"), "new"});
  write(dir / "rows-000000000002-000001.log", log_bytes(second));
  write(dir / "rows-000000000001-000000.log", log_bytes(first));
  std::vector<Record> expected;
  for (const auto* log : {&first, &second})
    for (const auto& r : *log) {
      const int kg = static_cast<unsigned char>(r.key[1]);
      if (kg >= 3 && kg <= 5) expected.push_back(r);
    }
  const auto got = scan(dir.path(), 3, 5);
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
}

TEST(RowLogs, ALogCutShortOrWithoutItsHeaderIsNamed) {
  runnel::testing::ScratchDir dir;
  std::vector<Record> records;
  for (int i = 0; i < 1000; ++i) records.push_back({key_of(1, std::to_string(i)), "value"});
  const std::string bytes = log_bytes(records);
  write(dir / "rows-000000000001-000000.log", bytes.substr(0, bytes.size() - 3));
  try {
    scan(dir.path(), 0, 10);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("damaged row log"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rows-000000000001-000000.log"), std::string::npos);
  }
  write(dir / "rows-000000000001-000000.log", "not a log at all");
  try {
    scan(dir.path(), 0, 10);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a row log"), std::string::npos) << e.what();
  }
}

}  // namespace
