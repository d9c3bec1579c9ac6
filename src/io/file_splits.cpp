#include "runnel/detail/file_splits.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "runnel/coder.hpp"
#include "runnel/error.hpp"

namespace runnel::detail {
namespace {
constexpr std::size_t kBlockBytes = 1 << 20;

bool has_wildcard(const std::string& s) { return s.find_first_of("*?[{") != std::string::npos; }

void check_readable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    throw UserError("cannot open input file '" + path + "': " + std::strerror(errno) +
                    " (check the path and its permissions)");
  }
  ::close(fd);
}
}  // namespace

std::vector<std::string> expand_input(const std::string& pattern) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (pattern.empty()) throw UserError("no input given: pass --input PATH_OR_GLOB");
  if (!has_wildcard(pattern)) {
    fs::file_status st = fs::status(pattern, ec);
    if (ec || !fs::exists(st)) {
      throw UserError("input '" + pattern + "' does not exist (check the path, or quote a glob)");
    }
    if (fs::is_directory(st)) {
      for (const auto& entry : fs::directory_iterator(pattern, ec)) {
        auto name = entry.path().filename().string();
        if (!name.empty() && name[0] != '.' && name[0] != '_' && entry.is_regular_file()) {
          files.push_back(entry.path().string());
        }
      }
      if (ec) throw UserError("cannot list input directory '" + pattern + "': " + ec.message());
      if (files.empty()) throw UserError("input directory '" + pattern + "' has no files");
    } else if (!fs::is_regular_file(st)) {
      throw UserError("input '" + pattern +
                      "' is not a regular file (pipes and devices cannot be split); "
                      "write it to a file first");
    } else {
      files.push_back(pattern);
    }
  } else {
    glob_t g{};
    int rc = ::glob(pattern.c_str(), GLOB_BRACE | GLOB_TILDE, nullptr, &g);
    if (rc == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) {
        if (fs::is_regular_file(g.gl_pathv[i], ec)) files.emplace_back(g.gl_pathv[i]);
      }
    }
    globfree(&g);
    if (rc == GLOB_ABORTED)
      throw UserError("cannot read a directory of input pattern '" + pattern + "'");
    if (files.empty()) {
      throw UserError("input pattern '" + pattern +
                      "' matches no files (check the pattern and the directory)");
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) check_readable(f);
  return files;
}

FileSplitSet::FileSplitSet(const std::string& pattern, int parallelism, int share, int shares) {
  auto files = expand_input(pattern);
  std::vector<std::uint64_t> sizes;
  for (const auto& f : files) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) {
      throw UserError("cannot stat input file '" + f + "': " + std::strerror(errno));
    }
    sizes.push_back(static_cast<std::uint64_t>(st.st_size));
    total_bytes_ += static_cast<std::uint64_t>(st.st_size);
  }
  // Several splits per instance so a slow one does not hold up the end;
  // shared over members, cut the same in each whatever its parallelism.
  const int readers = shares > 1 ? shares : std::max(parallelism, 1);
  std::uint64_t target = total_bytes_ / (static_cast<std::uint64_t>(readers) * 4);
  std::uint64_t split_bytes = std::clamp<std::uint64_t>(target, 1 << 20, 64 << 20);
  std::uint64_t number = 0;
  total_bytes_ = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    for (std::uint64_t start = 0; start < sizes[i]; start += split_bytes, ++number) {
      if (number % static_cast<std::uint64_t>(shares) != static_cast<std::uint64_t>(share))
        continue;
      const std::uint64_t end = std::min(sizes[i], start + split_bytes);
      splits_.push_back(FileSplit{files[i], start, end, sizes[i]});
      total_bytes_ += end - start;
    }
  }
}

std::string encode_read_position(const std::vector<FileSplit>& done, const FileSplit* current,
                                 std::uint64_t resume) {
  std::string out;
  ByteWriter w(out);
  auto put = [&](const FileSplit& s, std::uint64_t upto) {
    Coder<std::string>::encode(s.path, w);
    w.put_varint(s.start);
    w.put_varint(upto);
  };
  w.put_varint(done.size() + (current ? 1 : 0));
  for (const auto& s : done) put(s, s.end);
  if (current) put(*current, resume);
  return out;
}

void FileSplitSet::keep_unread(const std::vector<std::string>& states) {
  // Byte ranges already read, per file: [start, upto) of each split a reader
  // finished or was in. What is left of each file becomes the new splits: a
  // range that starts mid-line leaves that line to the range before it, which
  // was read (Hadoop's rule again), and a reader's `upto` is a line start.
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> read;
  for (const auto& bytes : states) {
    ByteReader r(bytes);
    if (r.empty()) continue;
    for (auto n = r.get_varint(); n > 0; --n) {
      std::string path = Coder<std::string>::decode(r);
      std::uint64_t start = r.get_varint();
      std::uint64_t upto = r.get_varint();
      if (upto > start) read[path].emplace_back(start, upto);
    }
  }
  // What is left of each split of this run (of its share of the input, when
  // the job is spread over members) once the ranges read are taken out.
  for (auto& [path, ranges] : read) std::sort(ranges.begin(), ranges.end());
  std::vector<FileSplit> unread;
  total_bytes_ = 0;
  read_before_.clear();
  for (const auto& [path, ranges] : read) {
    for (auto [start, upto] : ranges) read_before_.push_back(FileSplit{path, start, upto, 0});
  }
  for (const auto& split : splits_) {
    auto keep = [&](std::uint64_t from, std::uint64_t to) {
      if (to <= from) return;
      unread.push_back(FileSplit{split.path, from, to, split.file_size});
      total_bytes_ += to - from;
    };
    std::uint64_t at = split.start;
    if (auto it = read.find(split.path); it != read.end()) {
      for (auto [start, upto] : it->second) {
        if (upto <= split.start || start >= split.end) continue;
        keep(at, std::min(start, split.end));
        at = std::max(at, upto);
      }
    }
    keep(at, split.end);
  }
  splits_ = std::move(unread);
  next_.store(0);
}

const FileSplit* FileSplitSet::next() {
  std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
  return i < splits_.size() ? &splits_[i] : nullptr;
}

char* ReadBuffer::reserve_tail(std::size_t n) {
  if (size_ + n > capacity_) {
    std::size_t cap = std::max(size_ + n, capacity_ * 2);
    auto bigger = std::make_unique_for_overwrite<char[]>(cap);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = cap;
  }
  return data_.get() + size_;
}

void ReadBuffer::drop_front(std::size_t n) {
  if (n == 0) return;
  std::memmove(data_.get(), data_.get() + n, size_ - n);
  size_ -= n;
}

LineReader::LineReader(const FileSplit& split) : split_(split) {
  fd_ = ::open(split_.path.c_str(), O_RDONLY);
  if (fd_ < 0) {
    throw UserError("cannot open input file '" + split_.path + "': " + std::strerror(errno));
  }
  ::posix_fadvise(fd_, static_cast<off_t>(split_.start),
                  static_cast<off_t>(split_.end - split_.start), POSIX_FADV_SEQUENTIAL);
  // Starting mid-file: back up one byte, and drop everything through the first
  // line break; if that byte is itself a line break, the split starts on a line.
  buf_off_ = split_.start > 0 ? split_.start - 1 : 0;
  skip_first_ = split_.start > 0;
  first_line_offset_ = split_.start;
  reported_ = split_.start;
}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool LineReader::next_block(std::vector<std::string_view>& lines) {
  lines.clear();
  lines_before_block_ += lines_in_block_;
  lines_in_block_ = 0;
  buf_.drop_front(consumed_);
  buf_off_ += consumed_;
  consumed_ = 0;
  while (lines.empty() && !done_) {
    std::uint64_t at = buf_off_ + buf_.size();
    // Read what the file still has, up to a block: small splits stay cheap.
    std::size_t want = static_cast<std::size_t>(std::clamp<std::uint64_t>(
        split_.file_size > at ? split_.file_size - at : 1, 1, kBlockBytes));
    ssize_t n = ::pread(fd_, buf_.reserve_tail(want), want, static_cast<off_t>(at));
    if (n < 0) {
      throw UserError("cannot read input file '" + split_.path + "': " + std::strerror(errno));
    }
    buf_.commit_tail(static_cast<std::size_t>(n));
    bool eof = n == 0 || buf_off_ + buf_.size() >= split_.file_size;
    auto add_line = [&](std::size_t begin, std::size_t end) {
      if (end > begin && buf_[end - 1] == '\r') --end;
      lines.emplace_back(buf_.data() + begin, end - begin);
    };
    std::size_t p = consumed_;
    while (p < buf_.size()) {
      const void* hit = std::memchr(buf_.data() + p, '\n', buf_.size() - p);
      if (hit == nullptr) break;
      std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(hit) - buf_.data());
      if (skip_first_) {
        skip_first_ = false;
        first_line_offset_ = buf_off_ + nl + 1;
      } else if (buf_off_ + p >= split_.end) {
        done_ = true;
        break;
      } else {
        add_line(p, nl);
      }
      p = nl + 1;
    }
    consumed_ = p;
    if (!done_ && eof) {
      // The last line of a file may have no line break.
      if (p < buf_.size() && !skip_first_ && buf_off_ + p < split_.end) add_line(p, buf_.size());
      consumed_ = buf_.size();
      done_ = true;
    }
  }
  lines_in_block_ = lines.size();
  return !lines.empty();
}

std::uint64_t LineReader::take_consumed_bytes() {
  std::uint64_t now = std::min(split_.end, buf_off_ + consumed_);
  if (done_) now = split_.end;
  std::uint64_t d = now > reported_ ? now - reported_ : 0;
  reported_ = std::max(reported_, now);
  return d;
}

std::uint64_t LineReader::line_number(std::size_t i) {
  if (lines_before_split_ < 0) {
    // Only error reports need this, so counting the prefix lazily is cheap overall.
    std::int64_t count = 0;
    std::string chunk(kBlockBytes, '\0');
    std::uint64_t off = 0;
    while (off < first_line_offset_) {
      std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(kBlockBytes, first_line_offset_ - off));
      ssize_t n = ::pread(fd_, chunk.data(), want, static_cast<off_t>(off));
      if (n <= 0) break;
      count += std::count(chunk.data(), chunk.data() + n, '\n');
      off += static_cast<std::uint64_t>(n);
    }
    lines_before_split_ = count;
  }
  return static_cast<std::uint64_t>(lines_before_split_) + lines_before_block_ + i + 1;
}

}  // namespace runnel::detail
