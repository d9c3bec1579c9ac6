#pragma once
// Length-prefixed records in a temporary file: what a hash aggregation writes
// when it is over its memory budget, and reads back one partition at a time.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace runnel::detail {

class SpillWriter {
 public:
  explicit SpillWriter(std::filesystem::path path);
  ~SpillWriter();
  SpillWriter(const SpillWriter&) = delete;
  SpillWriter& operator=(const SpillWriter&) = delete;

  // Appends one record (its bytes were encoded by a Coder).
  void append(std::string_view record);
  // Flushes and closes; returns the bytes written.
  std::uint64_t close();
  const std::filesystem::path& path() const { return path_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void flush_buffer();
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  std::uint64_t bytes_ = 0;
};

class SpillReader {
 public:
  explicit SpillReader(const std::filesystem::path& path);
  ~SpillReader();
  SpillReader(const SpillReader&) = delete;
  SpillReader& operator=(const SpillReader&) = delete;

  // The next record, valid until the next call; false at the end of the file.
  bool next(std::string_view& record);

 private:
  bool fill(std::size_t need);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  std::size_t pos_ = 0;
};

}  // namespace runnel::detail
