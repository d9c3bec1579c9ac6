#pragma once
// Input files cut into byte ranges that parallel source instances take one at
// a time. A split owns the lines that start inside it, so every line is read
// exactly once whatever the cut points (Hadoop's rule).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/detail/shared_state.hpp"

namespace runnel::detail {

struct FileSplit {
  std::string path;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  std::uint64_t file_size = 0;
};

// The files a glob names (or every file in a directory), sorted. Throws
// UserError when nothing matches or a file cannot be opened.
std::vector<std::string> expand_input(const std::string& pattern);

class FileSplitSet final : public SharedState {
 public:
  // Splits are sized so each of `parallelism` instances gets several. A job
  // spread over members keeps the splits numbered i with i % shares == share
  // (see InstanceContext::share), cut the same in every member.
  FileSplitSet(const std::string& pattern, int parallelism, int share = 0, int shares = 1);

  const FileSplit* next();  // null once all are taken; thread-safe
  // A restore: keeps only the byte ranges the checkpointed readers' positions
  // (their operator states, see encode_read_position) left unread. Call
  // before any reader starts.
  void keep_unread(const std::vector<std::string>& states);
  // After keep_unread: the byte ranges earlier runs read (as splits whose end
  // is where reading stopped). A checkpoint of this run must list them too,
  // or a restore of it would read them again.
  const std::vector<FileSplit>& read_before() const { return read_before_; }
  std::uint64_t total_bytes() const { return total_bytes_; }
  const std::vector<FileSplit>& splits() const { return splits_; }

 private:
  std::vector<FileSplit> splits_;
  std::vector<FileSplit> read_before_;
  std::uint64_t total_bytes_ = 0;
  std::atomic<std::size_t> next_{0};
};

// A reader's position for a checkpoint: the splits it has read to the end,
// and the one it is in with the offset of its next line.
std::string encode_read_position(const std::vector<FileSplit>& done, const FileSplit* current,
                                 std::uint64_t resume);

// A byte buffer that grows without zero-filling (std::string::resize would
// clear every block before the read overwrites it).
class ReadBuffer {
 public:
  const char* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  char operator[](std::size_t i) const { return data_[i]; }
  // Room for n more bytes after size(); returns where to write them.
  char* reserve_tail(std::size_t n);
  void commit_tail(std::size_t n) { size_ += n; }
  void drop_front(std::size_t n);

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

class LineReader {
 public:
  explicit LineReader(const FileSplit& split);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Replaces `lines` with the next lines of the split (views valid until the
  // next call), without their line break ("\n" or "\r\n"). False at the end.
  bool next_block(std::vector<std::string_view>& lines);

  // Bytes of the split consumed since the last call (for progress).
  std::uint64_t take_consumed_bytes();
  // 1-based line number in the file of lines[i] from the last next_block.
  std::uint64_t line_number(std::size_t i);
  const FileSplit& split() const { return split_; }
  // The file offset of the first line not yet returned (the split's end once
  // it is read): where a restored reader starts.
  std::uint64_t resume_offset() const {
    return done_ ? split_.end : std::min(split_.end, buf_off_ + consumed_);
  }

 private:
  FileSplit split_;
  int fd_ = -1;
  ReadBuffer buf_;
  std::uint64_t buf_off_ = 0;  // file offset of buf_[0]
  std::size_t consumed_ = 0;   // bytes of buf_ already turned into lines
  bool skip_first_ = false;    // the split starts mid-line: that line is the previous split's
  bool done_ = false;
  std::uint64_t first_line_offset_ = 0;
  std::uint64_t lines_before_block_ = 0;  // lines of this split returned before the last block
  std::uint64_t lines_in_block_ = 0;
  std::int64_t lines_before_split_ = -1;  // counted on first need (error reports)
  std::uint64_t reported_ = 0;            // progress already reported, as an offset
};

}  // namespace runnel::detail
