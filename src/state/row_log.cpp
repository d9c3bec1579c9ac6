#include "runnel/detail/row_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include "core/bytes_hasher.hpp"
#include "runnel/coder.hpp"
#include "state/checkpoint_store.hpp"

namespace runnel::detail {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kHeader = "runnel-rows 1\n";
constexpr std::size_t kWriteBytes = std::size_t{1} << 20;

[[noreturn]] void io_error(const char* what, const fs::path& path) {
  throw std::runtime_error(
      fmt::format("state: cannot {} '{}': {}", what, path.string(), std::strerror(errno)));
}

bool is_log_name(const std::string& name) {
  return name.rfind("rows-", 0) == 0 && name.size() > 4 && name.ends_with(".log");
}

// The key group of a stored key (its first two bytes, see append_kv_prefix).
int key_group_of_stored(std::string_view key) {
  return (static_cast<unsigned char>(key[0]) << 8) | static_cast<unsigned char>(key[1]);
}

}  // namespace

RowLog::RowLog(const InstanceContext& ctx)
    : dir_(ctx.state_dir / (ctx.uid + "-" + std::to_string(ctx.instance) + ".rows")),
      full_every_(std::max(1, ctx.checkpoint_full_every)),
      completed_(ctx.completed_checkpoint),
      snapshots_(ctx),
      hasher_(std::make_unique<BytesHasher>()) {}

RowLog::~RowLog() {
  if (fd_ >= 0) ::close(fd_);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

bool RowLog::begin(std::int64_t id, OperatorSnapshot& out) {
  if (fd_ >= 0) {  // the log before failed: it is in no chain
    ::close(fd_);
    fd_ = -1;
  }
  // A log builds on the one before only if that one's checkpoint completed:
  // the changes it held are not written again.
  const bool base_done = completed_ != nullptr && completed_->load() >= last_id_;
  const bool full =
      chain_.empty() || !base_done || chain_.size() >= static_cast<std::size_t>(full_every_);
  std::error_code ec;
  if (full) {
    for (const auto& p : chain_) fs::remove(p, ec);  // checkpoints keep their own links
    chain_.clear();
  }
  fs::create_directories(dir_, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("state: cannot create '{}': {}", dir_.string(), ec.message()));
  // Names sort in chain order: by checkpoint, then by log (an instance that
  // finishes may log again under the id of its last checkpoint).
  path_ = dir_ / fmt::format("rows-{:012d}-{:06d}.log", id, ++seq_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) io_error("create", path_);
  last_id_ = id;
  hasher_->reset();
  buffer_.assign(kHeader);
  snap_ = snapshots_.reserve(id, out);
  return full;
}

void RowLog::put(std::string_view key, std::string_view value) {
  ByteWriter w(buffer_);
  w.put_varint(key.size());
  buffer_.append(key);
  w.put_varint(value.size() + 1);
  buffer_.append(value);
  if (buffer_.size() >= kWriteBytes) write_out();
}

void RowLog::remove(std::string_view key) {
  ByteWriter w(buffer_);
  w.put_varint(key.size());
  buffer_.append(key);
  w.put_varint(0);
  if (buffer_.size() >= kWriteBytes) write_out();
}

void RowLog::write_out() {
  hasher_->update(buffer_.data(), buffer_.size());
  const char* p = buffer_.data();
  std::size_t n = buffer_.size();
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      io_error("write", path_);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  buffer_.clear();
}

void RowLog::finish() {
  write_out();
  // The checkpoint fsyncs the files as it links them.
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) io_error("close", path_);
  state::remember_checksum(path_, hasher_->digest());
  chain_.push_back(path_);
  std::error_code ec;
  fs::create_directory(snap_, ec);
  for (const auto& p : chain_) {
    if (!ec) fs::create_hard_link(p, snap_ / p.filename(), ec);
  }
  if (ec)
    throw std::runtime_error(
        fmt::format("state: cannot link row logs into '{}': {}", snap_.string(), ec.message()));
}

bool is_row_log_dir(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (is_log_name(e.path().filename().string())) return true;
  }
  return false;
}

namespace {

// Reads a file forward in chunks of about kReadBytes (more when one record is
// larger): a restore holds one chunk of a log, not the log.
class ChunkReader {
 public:
  explicit ChunkReader(const fs::path& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY)) {
    if (fd_ < 0) io_error("open", path_);
  }
  ~ChunkReader() { ::close(fd_); }
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // The bytes read and not consumed yet.
  std::string_view window() const { return std::string_view(buf_).substr(pos_); }
  void consume(std::size_t n) { pos_ += n; }
  bool at_end() const { return eof_ && pos_ == buf_.size(); }
  // Reads on so that the window holds `need` bytes (or the file's rest). False at its end.
  bool fill(std::size_t need) {
    if (eof_) return false;
    buf_.erase(0, pos_);
    pos_ = 0;
    const std::size_t want = std::max(need, kReadBytes);
    while (buf_.size() < want && !eof_) {
      const std::size_t had = buf_.size();
      buf_.resize(want);
      const ssize_t n = ::read(fd_, buf_.data() + had, want - had);
      if (n < 0) {
        buf_.resize(had);
        if (errno == EINTR) continue;
        io_error("read", path_);
      }
      buf_.resize(had + static_cast<std::size_t>(n));
      if (n == 0) eof_ = true;
    }
    return true;
  }

 private:
  static constexpr std::size_t kReadBytes = std::size_t{4} << 20;
  fs::path path_;
  int fd_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false;
};

}  // namespace

void scan_row_logs(const fs::path& dir, int first, int last,
                   const std::function<void(std::string_view, const std::string_view*)>& fn) {
  std::vector<fs::path> logs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (is_log_name(e.path().filename().string())) logs.push_back(e.path());
  }
  if (ec) throw std::runtime_error(fmt::format("cannot list '{}': {}", dir.string(), ec.message()));
  std::sort(logs.begin(), logs.end());
  for (const auto& path : logs) {
    ChunkReader in(path);
    in.fill(kHeader.size());
    if (!in.window().starts_with(kHeader))
      throw std::runtime_error("'" + path.string() + "' is not a row log");
    in.consume(kHeader.size());
    // Only the log's own bytes are blamed on it: what fn throws (a row its
    // codec cannot decode, a store's error) passes as it is.
    auto damaged = [&](const char* why) {
      return std::runtime_error("damaged row log '" + path.string() + "': " + why);
    };
    while (true) {
      if (in.window().empty()) in.fill(1);
      if (in.at_end()) break;
      std::string_view key, value;
      std::uint64_t v = 0;
      ByteReader r(in.window());
      try {
        key = r.get_view(r.get_varint());
        v = r.get_varint();
        if (v != 0) value = r.get_view(v - 1);
      } catch (const DecodeError& e) {
        // A record past the window: read on (twice the window, so that a
        // large record takes a few reads), or the log is cut short.
        if (in.fill(in.window().size() * 2 + 16)) continue;
        throw damaged(e.what());
      }
      in.consume(in.window().size() - r.remaining());
      if (key.size() < 2) throw damaged("a key without its key group");
      const int kg = key_group_of_stored(key);
      if (kg < first || kg > last) continue;
      fn(key, v == 0 ? nullptr : &value);
    }
  }
}

}  // namespace runnel::detail
