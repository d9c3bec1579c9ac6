#include "runnel/detail/spill_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "runnel/coder.hpp"
#include "runnel/error.hpp"

namespace runnel::detail {
namespace {
// Small: an aggregation may have 16 partition files open per recursion level,
// and their buffers count against the memory the job was given.
constexpr std::size_t kBufferBytes = 64 << 10;

[[noreturn]] void fail(const char* what, const std::filesystem::path& path) {
  throw UserError(std::string("spill file ") + what + " '" + path.string() +
                  "': " + std::strerror(errno) +
                  " (check free space in the temporary directory, or set --temp-dir)");
}
// What `file` holds past where it has been read to.
std::uint64_t bytes_left(std::FILE* file, const std::filesystem::path& path) {
  struct stat st {};
  const long at = std::ftell(file);
  if (at < 0 || ::fstat(::fileno(file), &st) != 0) fail("cannot be read", path);
  return static_cast<std::uint64_t>(st.st_size) - static_cast<std::uint64_t>(at);
}
}  // namespace

SpillWriter::SpillWriter(std::filesystem::path path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) fail("cannot be created", path_);
  buffer_.reserve(kBufferBytes + 64);
}

SpillWriter::~SpillWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void SpillWriter::append(std::string_view record) {
  ByteWriter w(buffer_);
  w.put_varint(record.size());
  buffer_.append(record);
  if (buffer_.size() >= kBufferBytes) flush_buffer();
}

void SpillWriter::flush_buffer() {
  if (buffer_.empty()) return;
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    fail("cannot be written", path_);
  }
  bytes_ += buffer_.size();
  buffer_.clear();
}

std::uint64_t SpillWriter::close() {
  if (file_ == nullptr) return bytes_;
  flush_buffer();
  int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) fail("cannot be closed", path_);
  return bytes_;
}

SpillReader::SpillReader(const std::filesystem::path& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) fail("cannot be opened", path);
}

SpillReader::~SpillReader() {
  if (file_ != nullptr) std::fclose(file_);
}

bool SpillReader::fill(std::size_t need) {
  if (buffer_.size() - pos_ >= need) return true;
  buffer_.erase(0, pos_);
  pos_ = 0;
  std::size_t want = std::max(need, kBufferBytes);
  while (buffer_.size() < need) {
    std::size_t old = buffer_.size();
    buffer_.resize(old + want);
    std::size_t got = std::fread(buffer_.data() + old, 1, want, file_);
    buffer_.resize(old + got);
    if (got == 0) {
      if (std::ferror(file_)) fail("cannot be read", path_);
      return false;
    }
  }
  return true;
}

bool SpillReader::next(std::string_view& record) {
  if (!fill(1)) return false;
  // A varint is at most 10 bytes; near the end of the file fewer may remain.
  fill(10);
  ByteReader header(std::string_view(buffer_).substr(pos_));
  std::uint64_t len = header.get_varint();
  pos_ += (buffer_.size() - pos_) - header.remaining();
  // A length the rest of the file cannot hold (a damaged file) is not
  // allocated: it is found truncated. Checked only for records longer than
  // a buffer, so not per record.
  if (len > buffer_.size() - pos_ + kBufferBytes &&
      len > buffer_.size() - pos_ + bytes_left(file_, path_))
    throw DecodeError("spill file '" + path_.string() + "' is truncated");
  if (!fill(len)) throw DecodeError("spill file '" + path_.string() + "' is truncated");
  record = std::string_view(buffer_).substr(pos_, len);
  pos_ += len;
  return true;
}

}  // namespace runnel::detail
