// A batch written to bytes and read back is the same batch: values, event
// times, windows, panes and source split (the side-input par_do keeps its
// waiting main batches in checkpoints this way, and spilling operators write
// them to spill files). Damaged bytes are decode errors, never allocations.
#include "runnel/detail/batch_coder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "runnel/detail/spill_file.hpp"
#include "test_util.hpp"

namespace runnel::detail {
namespace {

using Row = std::pair<std::string, std::int64_t>;

std::unique_ptr<Batch<Row>> round_trip(const Batch<Row>& b) {
  std::string bytes;
  ByteWriter w(bytes);
  encode_batch(b, w);
  encode_batch(b, w);  // two in a row: each read stops where it ends
  ByteReader r(bytes);
  auto first = decode_batch<Row>(r);
  auto second = decode_batch<Row>(r);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(first->values, second->values);
  return first;
}

TEST(BatchCoder, TimedBatchWithPanesAndSplitComesBackWhole) {
  Batch<Row> b;
  b.values = {{"a", 1}, {std::string(300, 'x'), -7}, {"", 0}};
  b.timestamps = {5, kMaxTimestamp - 1, -20};
  b.windows = {Window{0, 10}, kGlobalWindow, Window{-30, -10}};
  b.panes = {PaneInfo{PaneInfo::Timing::kEarly, true, false, 0},
             PaneInfo{PaneInfo::Timing::kOnTime, false, false, 1},
             PaneInfo{PaneInfo::Timing::kLate, false, true, 70000}};
  b.split = 3;
  auto back = round_trip(b);
  EXPECT_EQ(back->values, b.values);
  EXPECT_EQ(back->timestamps, b.timestamps);
  EXPECT_EQ(back->windows, b.windows);
  EXPECT_EQ(back->panes, b.panes);
  EXPECT_EQ(back->split, 3);
}

TEST(BatchCoder, UntimedBatchWithoutSplitStaysUntimed) {
  Batch<Row> b;
  b.values = {{"only", 42}};
  auto back = round_trip(b);
  EXPECT_EQ(back->values, b.values);
  EXPECT_FALSE(back->timed());
  EXPECT_TRUE(back->windows.empty());
  EXPECT_TRUE(back->panes.empty());
  EXPECT_EQ(back->split, -1);
}

// Split markers were flags on batches (bits 1 and 2 of the second varint)
// before they became SplitEvents: a checkpoint that holds such a batch reads.
TEST(BatchCoder, BatchWrittenWithSplitMarkerFlagsStillReads) {
  Batch<Row> b;
  b.values = {{"k", 1}, {"l", 2}};
  b.split = 4;
  std::string bytes;
  ByteWriter w(bytes);
  encode_batch(b, w);
  ASSERT_EQ(bytes[1], '\0');
  bytes[1] = '\3';  // split started and ended, as an old writer put it
  ByteReader r(bytes);
  auto back = decode_batch<Row>(r);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(back->values, b.values);
  EXPECT_EQ(back->split, 4);
}

// Found by tests/fuzz/coder_fuzz: a damaged pane count asked for 163 GB, and
// a split index past int32 overflowed. Both are decode errors now.
TEST(BatchCoder, CountsPastTheEndAreDecodeErrors) {
  Batch<Row> b;
  b.values = {{"k", 1}};
  std::string bytes;
  ByteWriter w(bytes);
  encode_batch(b, w);
  ASSERT_EQ(bytes.back(), '\0');  // no panes
  std::string panes = bytes.substr(0, bytes.size() - 1) + "\xff\xff\xff\xff\x0f";
  ByteReader r(panes);
  EXPECT_THROW(decode_batch<Row>(r), DecodeError);
  std::string split = "\xff\xff\xff\xff\x0f" + bytes.substr(1);
  ByteReader s(split);
  EXPECT_THROW(decode_batch<Row>(s), DecodeError);
}

// A spill file whose record length is past its end (a damaged file; found by
// tests/fuzz/spill_fuzz, which had it allocate 11 GB) is truncated.
TEST(SpillFile, ALengthPastTheEndIsTruncatedNotAllocated) {
  runnel::testing::ScratchDir dir;
  const auto file = dir.path() / "spill";
  runnel::testing::write_file(file, "\xe7\xc5\xc5\xc5\x2a");
  SpillReader reader(file);
  std::string_view record;
  EXPECT_THROW(reader.next(record), DecodeError);
}

}  // namespace
}  // namespace runnel::detail
