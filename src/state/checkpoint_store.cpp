#include "state/checkpoint_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "core/bytes_hasher.hpp"
#include "runnel/hash.hpp"
#include "state/checkpoint_claims.hpp"
#include "state/synced_file.hpp"

namespace runnel::state {
namespace fs = std::filesystem;
namespace {

constexpr const char* kManifest = "_manifest";
constexpr const char* kMagic = "runnel-checkpoint 1";

std::string dir_name(std::int64_t id) { return fmt::format("chk-{:09d}", id); }

// chk-000000012 -> 12; chk-000000012.inprogress (or .inprogress-cN, run N's)
// -> 12 (in_progress set); else -1.
std::int64_t parse_dir_name(const std::string& name, bool& in_progress) {
  if (name.rfind("chk-", 0) != 0) return -1;
  std::string rest = name.substr(4);
  in_progress = false;
  if (const auto dot = rest.find(".inprogress"); dot != std::string::npos) {
    in_progress = true;
    rest.resize(dot);
  }
  if (rest.empty() ||
      !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stoll(rest);
}

[[noreturn]] void io_error(const std::string& what, const fs::path& path) {
  throw std::runtime_error(
      fmt::format("checkpoint: cannot {} '{}': {}", what, path.string(), std::strerror(errno)));
}

std::uint64_t checksum(std::string_view bytes) { return hash_bytes(bytes.data(), bytes.size()); }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read '{}'", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The checksum of a file. RocksDB's table files never change once written
// and one file is linked into checkpoint after checkpoint, so checksums are
// remembered by inode, size and modification time: a file is read once.
// (Not the status change time: every link of a table file into the next
// checkpoint, and every unlink by retention, changes it.)
using FileId = std::tuple<dev_t, ino_t, off_t, std::int64_t, long>;
FileId file_id(const struct stat& st) {
  return {st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
}
struct KnownChecksum {
  std::uint64_t sum = 0;
  bool read = false;  // learnt by reading the file (not from the bytes its writer wrote)
};
std::mutex known_mu;
std::map<FileId, KnownChecksum> known_checksums;  // under known_mu

void remember(const FileId& id, std::uint64_t sum, bool read) {
  std::lock_guard<std::mutex> lock(known_mu);
  if (known_checksums.size() > 100'000) known_checksums.clear();  // forgetting costs a read
  known_checksums.insert_or_assign(id, KnownChecksum{sum, read});
}

// A file's checksum and size, read in pieces: a table file can be as large
// as the state, and reading it whole held that much memory at every checkpoint.
// Throws if the file cannot be read.
std::pair<std::uint64_t, std::uint64_t> read_checksum(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot read '{}'", path.string()));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  BytesHasher hasher;
  std::vector<char> buf(std::size_t{1} << 20);
  std::uint64_t size = 0;
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error(fmt::format("cannot read '{}'", path.string()));
    }
    if (n == 0) break;
    hasher.update(buf.data(), static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return {hasher.digest(), size};
}

std::uint64_t file_checksum(const fs::path& path, const struct stat& st) {
  const FileId id = file_id(st);
  {
    std::lock_guard<std::mutex> lock(known_mu);
    if (auto it = known_checksums.find(id); it != known_checksums.end()) return it->second.sum;
  }
  const std::uint64_t sum = read_checksum(path).first;
  remember(id, sum, true);
  return sum;
}

// Links (or, across file systems, copies) every file of a native snapshot
// directory into `to`, fsyncs them, and lists them with their checksums.
std::vector<NativeFileInfo> link_native_dir(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directory(to, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("checkpoint: cannot create '{}': {}", to.string(), ec.message()));
  std::vector<NativeFileInfo> files;
  for (const auto& e : fs::directory_iterator(from, ec)) {
    if (!e.is_regular_file()) continue;
    const fs::path dst = to / e.path().filename();
    fs::create_hard_link(e.path(), dst, ec);
    if (ec) {
      ec.clear();
      fs::copy_file(e.path(), dst, ec);
      if (ec)
        throw std::runtime_error(fmt::format("checkpoint: cannot copy '{}' to '{}': {}",
                                             e.path().string(), dst.string(), ec.message()));
    }
    int fd = ::open(dst.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fsync(fd) != 0 || ::fstat(fd, &st) != 0) {
      if (fd >= 0) ::close(fd);
      io_error("fsync", dst);
    }
    ::close(fd);
    files.push_back({e.path().filename().string(), static_cast<std::uint64_t>(st.st_size),
                     file_checksum(dst, st)});
  }
  if (ec)
    throw std::runtime_error(
        fmt::format("checkpoint: cannot list '{}': {}", from.string(), ec.message()));
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  fsync_dir(to, "checkpoint");
  return files;
}

// Whether every file of an instance's native directory is there, whole.
std::string check_native_files(const fs::path& checkpoint, const InstanceInfo& inst,
                               const CheckpointChecks& checks) {
  for (const auto& f : inst.native_files) {
    const fs::path p = checkpoint / inst.native_dir / f.name;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0)
      return fmt::format("missing state file {}/{}", inst.native_dir, f.name);
    if (static_cast<std::uint64_t>(st.st_size) != f.bytes)
      return fmt::format("checksum mismatch in {}/{}", inst.native_dir, f.name);
    std::optional<std::uint64_t> sum;
    // A file this process read and checked before (a standby copy's) is
    // not read again when the caller says so.
    if (checks.trust_read_checksums) {
      std::lock_guard<std::mutex> lock(known_mu);
      if (auto it = known_checksums.find(file_id(st));
          it != known_checksums.end() && it->second.read)
        sum = it->second.sum;
    }
    if (!sum) {
      try {
        sum = read_checksum(p).first;
      } catch (const std::exception&) {
        return fmt::format("missing state file {}/{}", inst.native_dir, f.name);
      }
      remember(file_id(st), *sum, true);
    }
    if (*sum != f.checksum)
      return fmt::format("checksum mismatch in {}/{}", inst.native_dir, f.name);
  }
  return {};
}

}  // namespace

void remember_checksum(const fs::path& file, std::uint64_t sum) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0) remember(file_id(st), sum, false);
}

namespace {

// Writes the files of checkpoint `content` into tmp_dir; returns their bytes.
std::uint64_t write_checkpoint_files(const fs::path& tmp_dir, const CheckpointContent& content) {
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  const KeyGroupRange owned = content.key_groups.count > 0
                                  ? content.key_groups
                                  : KeyGroupRange::all(content.max_parallelism);
  std::string manifest =
      fmt::format("{}\nid {}\ncreated_ms {}\nmax_parallelism {}\nkey_groups {} {}\n", kMagic,
                  content.id, now_ms, content.max_parallelism, owned.first, owned.count);
  if (content.claim > 0) manifest += fmt::format("claim {}\n", content.claim);
  std::uint64_t total = 0;
  for (const auto& op : content.operators) {
    manifest += fmt::format("op {} {} {}\nuid {}\nformat {}\n", op.key, op.instances.size(),
                            op.name, op.uid, op.format);
    for (std::size_t i = 0; i < op.instances.size(); ++i) {
      const auto& snap = op.instances[i];
      const std::string state_file = fmt::format("{}-{}.state", op.key, i);
      std::vector<const std::string*> pieces{&snap.operator_state};
      std::string sections =
          fmt::format("os 0 {} {:016x}", snap.operator_state.size(), checksum(snap.operator_state));
      std::uint64_t offset = snap.operator_state.size();
      for (std::size_t kg = 0; kg < snap.key_groups.size(); ++kg) {
        const auto& bytes = snap.key_groups[kg];
        if (bytes.empty()) continue;
        pieces.push_back(&bytes);
        sections += fmt::format(" kg{} {} {} {:016x}", kg, offset, bytes.size(), checksum(bytes));
        offset += bytes.size();
      }
      // Nothing to save (a stateless instance, an idle sink): no file.
      if (offset != 0) write_file_synced(tmp_dir / state_file, pieces, "checkpoint");
      total += offset;
      manifest += fmt::format("inst {} {} {} {}\n", i, offset == 0 ? std::string("-") : state_file,
                              offset, sections);
      if (!snap.native_dir.empty()) {
        snap.wait_written();  // a log written off its task thread, or why it was not
        const std::string native = fmt::format("{}-{}.db", op.key, i);
        auto files = link_native_dir(snap.native_dir, tmp_dir / native);
        manifest += fmt::format("native {} {}", native, files.size());
        for (const auto& f : files) {
          manifest += fmt::format(" {} {} {:016x}", f.name, f.bytes, f.checksum);
          total += f.bytes;
        }
        manifest += '\n';
      }
    }
  }
  manifest += fmt::format("checksum {:016x}\n", checksum(manifest));
  write_file_synced(tmp_dir / kManifest, {&manifest}, "checkpoint");
  fsync_dir(tmp_dir, "checkpoint");
  return total + manifest.size();
}

}  // namespace

std::uint64_t write_checkpoint(const fs::path& dir, const CheckpointContent& content) {
  const fs::path final_dir = dir / dir_name(content.id);
  // Each run (claim) its own: a run taken over that writes the same id never
  // writes into the new owner's files.
  const fs::path tmp_dir =
      dir / (dir_name(content.id) + ".inprogress" +
             (content.claim > 0 ? fmt::format("-c{}", content.claim) : std::string()));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("checkpoint: cannot create '{}': {}", dir.string(), ec.message()));
  fs::remove_all(tmp_dir, ec);
  fs::create_directory(tmp_dir, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("checkpoint: cannot create '{}': {}", tmp_dir.string(), ec.message()));
  bool renamed = false;
  try {
    const std::uint64_t bytes = write_checkpoint_files(tmp_dir, content);
    // Never over another checkpoint of this id (another run's: the new
    // owner's, when this run was taken over): that one stays.
    if (::renameat2(AT_FDCWD, tmp_dir.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_NOREPLACE) != 0)
      throw std::runtime_error(fmt::format("checkpoint: cannot rename '{}' to '{}': {}",
                                           tmp_dir.string(), final_dir.filename().string(),
                                           std::strerror(errno)));
    renamed = true;
    fsync_dir(dir, "checkpoint");
    return bytes;
  } catch (...) {
    // A checkpoint that cannot be written leaves no part of itself: on a
    // full disk its files are the room the next one needs. Renamed but not
    // durable counts as failed too, so it must not stay for a restore to
    // find: the sinks publish nothing for it.
    std::error_code ignored;
    fs::remove_all(tmp_dir, ignored);
    if (renamed) fs::remove_all(final_dir, ignored);
    throw;
  }
}

namespace {

// The manifest's text without its checksum line, in `body`; or why it cannot be used.
std::string read_manifest(const fs::path& path, std::string& body) {
  std::error_code ec;
  if (!fs::exists(path / kManifest, ec)) return "incomplete: no _manifest";
  std::string text;
  try {
    text = read_file(path / kManifest);
  } catch (const std::exception& e) {
    return std::string("cannot read _manifest: ") + e.what();
  }
  // The last line checks every line before it, and is exactly
  // "checksum <16 lowercase hex digits>\n": a byte changed in it is found too.
  constexpr std::size_t kDigits = 16;
  auto pos = text.rfind("checksum ");
  const bool whole_line =
      pos != std::string::npos && text.size() == pos + 9 + kDigits + 1 && text.back() == '\n' &&
      std::all_of(text.begin() + static_cast<std::ptrdiff_t>(pos + 9), text.end() - 1,
                  [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!whole_line || text.compare(0, std::strlen(kMagic), kMagic) != 0)
    return "damaged _manifest (no header or checksum line)";
  std::uint64_t want = std::strtoull(text.c_str() + pos + 9, nullptr, 16);
  if (checksum(std::string_view(text).substr(0, pos)) != want)
    return "damaged _manifest (checksum mismatch)";
  body = text.substr(0, pos);
  return {};
}

// A manifest whose checksum holds can still say what no writer of ours says
// (another tool's, or damaged before its checksum was taken; found by
// tests/fuzz/checkpoint_fuzz): every number is read whole and in range, and
// every file it names is inside the checkpoint, or the checkpoint is refused
// with what is wrong.
constexpr int kMaxParallelism = 1 << 15;  // key groups
constexpr int kMaxInstances = 1 << 16;    // of one operator
constexpr std::size_t kMaxNativeFiles = 1 << 20;

bool inside_checkpoint(const std::string& name) {
  const fs::path p(name);
  if (name.empty() || p.is_absolute()) return false;
  return std::none_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; });
}

std::string parse_instance_line(std::istringstream& f, int max_parallelism, InstanceInfo& inst) {
  if (!(f >> inst.instance >> inst.file >> inst.bytes)) return "an inst line is cut short";
  if (!inside_checkpoint(inst.file)) return "state file '" + inst.file + "' is outside it";
  std::string name;
  while (f >> name) {
    SectionInfo s;
    if (name != "os") {
      const char* digits = name.data() + std::min<std::size_t>(2, name.size());
      auto [end, ec] = std::from_chars(digits, name.data() + name.size(), s.key_group);
      if (name.rfind("kg", 0) != 0 || ec != std::errc() || end != name.data() + name.size() ||
          s.key_group < 0 || s.key_group >= max_parallelism)
        return "section '" + name + "' of " + inst.file + " is neither os nor a key group";
    }
    if (!(f >> s.offset >> s.length >> std::hex >> s.checksum >> std::dec))
      return "section '" + name + "' of " + inst.file + " is cut short";
    if (s.offset > inst.bytes || s.length > inst.bytes - s.offset)
      return "section '" + name + "' lies past the end of " + inst.file;
    inst.sections.push_back(s);
  }
  return {};
}

std::string parse_native_line(std::istringstream& f, InstanceInfo& inst, std::uint64_t& bytes) {
  std::size_t n = 0;
  if (!(f >> inst.native_dir >> n) || n > kMaxNativeFiles) return "a native line is cut short";
  if (!inside_checkpoint(inst.native_dir))
    return "native directory '" + inst.native_dir + "' is outside it";
  for (std::size_t k = 0; k < n; ++k) {
    NativeFileInfo file;
    if (!(f >> file.name >> file.bytes >> std::hex >> file.checksum >> std::dec))
      return "the files of " + inst.native_dir + " are cut short";
    if (!inside_checkpoint(file.name)) return "native file '" + file.name + "' is outside it";
    bytes += file.bytes;
    inst.native_files.push_back(std::move(file));
  }
  return {};
}

// The manifest's lines into info; empty, or what is wrong.
std::string parse_manifest_lines(const std::string& body, CheckpointInfo& info) {
  std::istringstream lines(body);
  std::string line;
  std::getline(lines, line);  // magic
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string tag;
    f >> tag;
    bool read = true;
    if (tag == "id") {
      read = static_cast<bool>(f >> info.id);
    } else if (tag == "created_ms") {
      read = static_cast<bool>(f >> info.created_ms);
    } else if (tag == "max_parallelism") {
      read = f >> info.max_parallelism && info.max_parallelism >= 1 &&
             info.max_parallelism <= kMaxParallelism;
    } else if (tag == "key_groups") {
      read = static_cast<bool>(f >> info.key_groups.first >> info.key_groups.count);
    } else if (tag == "claim") {
      read = static_cast<bool>(f >> info.claim);
    } else if (tag == "op") {
      OperatorInfo op;
      read =
          f >> op.key >> op.parallelism && op.parallelism >= 1 && op.parallelism <= kMaxInstances;
      std::getline(f >> std::ws, op.name);
      info.operators.push_back(std::move(op));
    } else if (tag == "uid" && !info.operators.empty()) {
      std::getline(f >> std::ws, info.operators.back().uid);
    } else if (tag == "format" && !info.operators.empty()) {
      read = static_cast<bool>(f >> info.operators.back().format);
    } else if (tag == "inst" && !info.operators.empty()) {
      OperatorInfo& op = info.operators.back();
      InstanceInfo inst;
      if (std::string problem = parse_instance_line(f, info.max_parallelism, inst);
          !problem.empty())
        return problem;
      if (inst.instance < 0 || inst.instance >= op.parallelism)
        return fmt::format("operator {} has {} instances, not an instance {}", op.key,
                           op.parallelism, inst.instance);
      info.bytes += inst.bytes;
      op.instances.push_back(std::move(inst));
    } else if (tag == "native" && !info.operators.empty() &&
               !info.operators.back().instances.empty()) {
      if (std::string problem =
              parse_native_line(f, info.operators.back().instances.back(), info.bytes);
          !problem.empty())
        return problem;
    }
    if (!read) return "its line '" + line.substr(0, 80) + "' cannot be read";
  }
  const KeyGroupRange& kg = info.key_groups;
  if (info.max_parallelism < 1) return "it names no max_parallelism";
  if (kg.first < 0 || kg.count < 0 || kg.first > info.max_parallelism - kg.count)
    return fmt::format("its key groups {}+{} are not among {}", kg.first, kg.count,
                       info.max_parallelism);
  return {};
}

void parse_manifest(const std::string& body, CheckpointInfo& info) {
  if (std::string problem = parse_manifest_lines(body, info); !problem.empty()) {
    info.operators.clear();
    info.problem = "damaged _manifest: " + problem;
  }
}

// Every file the manifest names is there, whole, with its checksums; or what is wrong.
std::string verify_files(const fs::path& path, const CheckpointInfo& info,
                         const CheckpointChecks& checks) {
  for (const auto& op : info.operators) {
    for (const auto& inst : op.instances) {
      if (std::string problem = check_native_files(path, inst, checks); !problem.empty())
        return problem;
      if (inst.bytes == 0) continue;
      std::string bytes;
      try {
        bytes = read_file(path / inst.file);
      } catch (const std::exception&) {
        return "missing state file " + inst.file;
      }
      if (bytes.size() != inst.bytes) {
        return fmt::format("state file {} has {} bytes, the manifest says {}", inst.file,
                           bytes.size(), inst.bytes);
      }
      for (const auto& s : inst.sections) {
        if (s.offset + s.length > bytes.size() ||
            checksum(std::string_view(bytes).substr(s.offset, s.length)) != s.checksum) {
          return fmt::format("checksum mismatch in {} ({})", inst.file,
                             s.key_group < 0 ? std::string("operator state")
                                             : fmt::format("key group {}", s.key_group));
        }
      }
    }
  }
  return {};
}

}  // namespace

CheckpointInfo inspect_checkpoint(const fs::path& path, bool verify,
                                  const CheckpointChecks& checks) {
  CheckpointInfo info;
  info.path = path;
  bool in_progress = false;
  info.id = parse_dir_name(path.filename().string(), in_progress);
  if (in_progress) {
    info.problem = "incomplete (still being written, or its writer died)";
    return info;
  }
  std::string body;
  info.problem = read_manifest(path, body);
  if (!info.problem.empty()) return info;
  parse_manifest(body, info);
  if (!info.problem.empty()) return info;
  // Written before jobs had shares: the run owned every key group.
  if (info.key_groups.count == 0) info.key_groups = KeyGroupRange::all(info.max_parallelism);
  // A fenced run's (checkpoint_claims.hpp) is whole but no restore's: not
  // listed as complete, not counted by retention, not copied by a standby.
  if (checks.fencing && info.claim > 0) {
    std::vector<CheckpointClaim> claims;
    try {
      claims = read_claims(path.parent_path());
    } catch (const std::exception& e) {
      info.problem = fmt::format("its directory's claims cannot be read: {}", e.what());
      return info;
    }
    if (written_after_takeover(claims, info.claim, info.id)) {
      info.problem = fmt::format(
          "its run, claim {}, had been taken over when it finished it: another run owns the "
          "directory",
          info.claim);
      return info;
    }
  }
  info.valid = true;
  if (!verify) return info;
  info.problem = verify_files(path, info, checks);
  info.valid = info.problem.empty();
  return info;
}

std::uint64_t bytes_shared_with(const CheckpointInfo& c, const CheckpointInfo& before) {
  auto inodes = [](const CheckpointInfo& info, auto&& fn) {
    for (const auto& op : info.operators) {
      for (const auto& inst : op.instances) {
        if (inst.native_dir.empty()) continue;
        for (const auto& f : inst.native_files) {
          struct stat st {};
          const fs::path p = info.path / inst.native_dir / f.name;
          if (::stat(p.c_str(), &st) == 0) fn(std::pair(st.st_dev, st.st_ino), f.bytes);
        }
      }
    }
  };
  std::set<std::pair<dev_t, ino_t>> earlier;
  inodes(before, [&](auto id, std::uint64_t) { earlier.insert(id); });
  std::uint64_t shared = 0;
  inodes(c, [&](auto id, std::uint64_t bytes) {
    if (earlier.count(id) != 0) shared += bytes;
  });
  return shared;
}

std::vector<CheckpointInfo> list_checkpoints(const fs::path& dir, bool verify,
                                             const CheckpointChecks& checks) {
  std::vector<CheckpointInfo> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    bool in_progress = false;
    if (parse_dir_name(entry.path().filename().string(), in_progress) < 0) continue;
    out.push_back(inspect_checkpoint(entry.path(), verify, checks));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.id != b.id ? a.id < b.id : a.path < b.path;
  });
  return out;
}

std::int64_t highest_checkpoint_id(const fs::path& dir) {
  std::int64_t best = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    bool in_progress = false;
    best = std::max(best, parse_dir_name(entry.path().filename().string(), in_progress));
  }
  return best;
}

bool LoadedCheckpoint::positional() const {
  return std::any_of(operators.begin(), operators.end(),
                     [](const auto& op) { return op.second.uid.empty(); });
}

fs::path checkpoint_path(const fs::path& dir, std::int64_t id) { return dir / dir_name(id); }

const LoadedOperator* LoadedCheckpoint::find(const std::string& key) const {
  for (const auto& [k, op] : operators) {
    if (k == key) return &op;
  }
  return nullptr;
}

const LoadedOperator* LoadedCheckpoint::find_uid(const std::string& uid) const {
  for (const auto& [k, op] : operators) {
    if (op.uid == uid) return &op;
  }
  return nullptr;
}

LoadedCheckpoint load_checkpoint(const fs::path& path, const CheckpointChecks& checks) {
  CheckpointInfo info = inspect_checkpoint(path, false, checks);
  if (!info.valid) throw std::runtime_error(info.problem);
  LoadedCheckpoint out;
  out.id = info.id;
  out.path = path;
  out.max_parallelism = info.max_parallelism;
  out.key_groups = info.key_groups;
  out.claim = info.claim;
  for (const auto& op : info.operators) {
    LoadedOperator lo;
    lo.uid = op.uid;
    lo.name = op.name;
    lo.parallelism = op.parallelism;
    lo.format = op.format;
    lo.operator_states.resize(static_cast<std::size_t>(op.parallelism));
    lo.native_dirs.resize(static_cast<std::size_t>(op.parallelism));
    for (const auto& inst : op.instances) {
      if (!inst.native_dir.empty()) {
        if (std::string problem = check_native_files(path, inst, checks); !problem.empty())
          throw std::runtime_error(problem);
        lo.native_dirs.at(static_cast<std::size_t>(inst.instance)) =
            fs::absolute(path / inst.native_dir).string();
      }
      if (inst.bytes == 0) continue;
      std::string bytes;
      try {
        bytes = read_file(path / inst.file);
      } catch (const std::exception&) {
        throw std::runtime_error("missing state file " + inst.file);
      }
      if (bytes.size() != inst.bytes)
        throw std::runtime_error(fmt::format("state file {} is truncated", inst.file));
      for (const auto& s : inst.sections) {
        if (s.offset + s.length > bytes.size())
          throw std::runtime_error(fmt::format("state file {} is truncated", inst.file));
        std::string_view piece = std::string_view(bytes).substr(s.offset, s.length);
        if (checksum(piece) != s.checksum) {
          throw std::runtime_error(fmt::format("checksum mismatch in {} ({})", inst.file,
                                               s.key_group < 0
                                                   ? std::string("operator state")
                                                   : fmt::format("key group {}", s.key_group)));
        }
        if (s.key_group < 0) {
          lo.operator_states.at(static_cast<std::size_t>(inst.instance)) = std::string(piece);
        } else {
          if (lo.key_groups.size() <= static_cast<std::size_t>(s.key_group))
            lo.key_groups.resize(static_cast<std::size_t>(s.key_group) + 1);
          lo.key_groups[static_cast<std::size_t>(s.key_group)] += piece;
        }
      }
    }
    out.operators.emplace_back(op.key, std::move(lo));
  }
  return out;
}

namespace {

// The copy of checkpoint `c` under `local_copy`, when it has c's very manifest.
std::optional<fs::path> local_copy_of(const CheckpointInfo& c, const fs::path& local_copy) {
  if (local_copy.empty()) return std::nullopt;
  const fs::path copy = local_copy / c.path.filename();
  std::error_code ec;
  if (!fs::exists(copy / kManifest, ec)) return std::nullopt;
  try {
    if (read_file(copy / kManifest) == read_file(c.path / kManifest)) return copy;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

std::optional<LoadedCheckpoint> load_latest(
    const fs::path& dir, std::vector<std::string>& log,
    const std::function<std::string(const LoadedCheckpoint&)>& problem,
    const fs::path& local_copy) {
  // Claims that cannot be read make every checkpoint unusable: a restore
  // fails (to be retried) rather than start again without its state.
  (void)read_claims(dir);
  auto all = list_checkpoints(dir, false);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (!it->valid) {
      log.push_back(fmt::format("checkpoint {} is not usable ({}); trying the one before",
                                it->path.string(), it->problem));
      continue;
    }
    try {
      std::optional<LoadedCheckpoint> copied;
      if (const auto copy = local_copy_of(*it, local_copy)) {
        try {
          // Its files were read and checked by this process's standby copier.
          copied = load_checkpoint(*copy, {.fencing = true, .trust_read_checksums = true});
        } catch (const std::exception& e) {
          log.push_back(
              fmt::format("the local copy {} of checkpoint {} is not usable ({}); "
                          "reading the checkpoint itself",
                          copy->string(), it->path.string(), e.what()));
        }
      }
      LoadedCheckpoint c = copied ? std::move(*copied) : load_checkpoint(it->path);
      std::string why = problem ? problem(c) : std::string();
      if (why.empty()) return c;
      log.push_back(fmt::format("checkpoint {} is not usable ({}); trying the one before",
                                it->path.string(), why));
    } catch (const std::exception& e) {
      log.push_back(fmt::format("checkpoint {} is not usable ({}); trying the one before",
                                it->path.string(), e.what()));
    }
  }
  return std::nullopt;
}

void retain_checkpoints(const fs::path& dir, int keep) {
  auto all = list_checkpoints(dir, false);
  std::vector<const CheckpointInfo*> complete;
  for (const auto& c : all) {
    if (c.valid) complete.push_back(&c);
  }
  if (complete.empty()) return;
  std::int64_t newest = complete.back()->id;
  std::error_code ec;
  int kept = 0;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->valid && kept < keep) {
      ++kept;
      continue;
    }
    // In-progress or damaged directories newer than the newest complete one
    // may be a checkpoint being written; leave those.
    if (!it->valid && it->id >= newest) continue;
    fs::remove_all(it->path, ec);
  }
}

}  // namespace runnel::state
