#include "runnel/detail/output_files.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <set>

#include "runnel/coder.hpp"
#include "runnel/detail/file_io_ops.hpp"
#include "runnel/error.hpp"
#include "state/checkpoint_claims.hpp"

namespace runnel::detail {
namespace fs = std::filesystem;
namespace {

// What an earlier run of a runnel sink leaves in its directory.
bool is_runnel_output(const std::string& name) {
  return name == "_SUCCESS" || name == "_rejected" || name.rfind("part-", 0) == 0 ||
         name.rfind(".part-", 0) == 0;
}
}  // namespace

// Output directories claimed by sinks of running jobs in this process: two
// sinks writing one directory would overwrite each other's part files.
std::mutex claimed_mu;
std::set<fs::path> claimed;

OutputDirectory::OutputDirectory(OutputSpec spec, bool restoring)
    : spec_(std::move(spec)), dir_(spec_.dir), restoring_(restoring) {
  if (spec_.dir.empty()) throw UserError("no output directory given: pass --output DIR");
  std::error_code ec;
  auto st = fs::status(dir_, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      throw UserError("output '" + spec_.dir +
                      "' exists and is not a directory; choose another --output");
    }
    std::vector<std::string> ours, others;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      auto name = entry.path().filename().string();
      (is_runnel_output(name) ? ours : others).push_back(name);
    }
    if ((!ours.empty() || !others.empty()) && !spec_.overwrite && !(restoring_ && others.empty())) {
      throw UserError(
          "output directory '" + spec_.dir +
          "' exists and is not empty; remove it, choose another --output, or pass --overwrite");
    }
    if (!others.empty()) {
      throw UserError("output directory '" + spec_.dir +
                      "' holds files runnel did not write (e.g. '" + others.front() +
                      "'); --overwrite only replaces runnel output, so choose another --output");
    }
    // An earlier run's unpublished parts: replaced, as its published ones
    // are at the end (a pending part is created exclusively).
    if (spec_.overwrite && !restoring_) {
      for (const auto& name : ours)
        if (name.rfind(".part-", 0) == 0 && name.size() > 8 &&
            name.compare(name.size() - 8, 8, ".pending") == 0)
          fs::remove(dir_ / name, ec);
    }
  }
  key_ = fs::weakly_canonical(fs::absolute(dir_), ec);
  std::lock_guard lock(claimed_mu);
  if (!claimed.insert(key_).second) {
    throw UserError("two sinks write to the same output directory '" + spec_.dir +
                    "'; give each its own");
  }
  // Created on first write, not here: a job's sinks are prepared in plan
  // order, and the dead-letter sink's OUTPUT/_rejected must not make OUTPUT
  // look taken to the main sink.
}

OutputDirectory::~OutputDirectory() {
  std::lock_guard lock(claimed_mu);
  claimed.erase(key_);
}

void OutputDirectory::create() {
  std::error_code ec;
  if (fs::exists(dir_, ec)) return;
  fs::create_directories(dir_, ec);
  if (ec) throw UserError("cannot create output directory '" + spec_.dir + "': " + ec.message());
  created_ = true;
}

fs::path OutputDirectory::temp_path(int instance) const {
  return dir_ / fmt::format(".part-{:05d}.{}.inprogress", instance, spec_.extension);
}

fs::path OutputDirectory::final_path(int instance) const {
  return dir_ / fmt::format("part-{:05d}.{}", instance, spec_.extension);
}

void OutputDirectory::register_part(int instance) {
  std::lock_guard lock(mu_);
  create();
  parts_.push_back(instance);
}

void OutputDirectory::commit() {
  std::lock_guard lock(mu_);
  std::error_code ec;
  // An earlier run's output (--overwrite) goes only now that this run has
  // succeeded: its parts that this run does not replace, and its marker.
  if (fs::exists(dir_, ec)) {
    std::set<std::string> fresh = published_;
    for (int i : parts_) fresh.insert(final_path(i).filename().string());
    for (auto [i, e] : epoch_parts_) fresh.insert(epoch_path(i, e).filename().string());
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      auto name = entry.path().filename().string();
      // A resumed run keeps what the runs before it published.
      if ((name.rfind("part-", 0) == 0 && fresh.count(name) == 0 && !restoring_) ||
          name == "_SUCCESS") {
        fs::remove(entry.path(), ec);
      }
    }
  }
  for (int i : parts_) {
    fs::rename(temp_path(i), final_path(i), ec);
    if (ec) {
      throw UserError("cannot publish output file '" + final_path(i).string() +
                      "': " + ec.message());
    }
  }
  parts_.clear();
  for (auto [i, e] : epoch_parts_) {
    if (!fs::exists(pending_path(i, e), ec)) continue;  // published at a checkpoint
    // Published at a checkpoint already: a pending file of that name now is
    // another run's (one taken over, still writing), never published over it.
    if (published_.count(epoch_path(i, e).filename().string())) continue;
    fs::rename(pending_path(i, e), epoch_path(i, e), ec);
    if (ec) {
      throw UserError("cannot publish output file '" + epoch_path(i, e).string() +
                      "': " + ec.message());
    }
  }
  epoch_parts_.clear();
  if (spec_.success_marker) {
    create();
    std::FILE* f = std::fopen((dir_ / "_SUCCESS").c_str(), "wb");
    if (f == nullptr || std::fclose(f) != 0) {
      throw UserError("cannot write '" + (dir_ / "_SUCCESS").string() +
                      "': " + std::strerror(errno));
    }
  }
}

void OutputDirectory::abort() {
  std::lock_guard lock(mu_);
  std::error_code ec;
  for (int i : parts_) fs::remove(temp_path(i), ec);
  parts_.clear();
  if (!fs::exists(dir_, ec)) return;
  // Pending parts of a checkpointed run stay: a durable checkpoint may list
  // them, and a restore publishes or removes them.
  if (!epoch_parts_.empty() || !published_.empty()) return;
  // Instances that failed before registering may have left a temporary file.
  // Only those: a pending part (.pending) may be another run's, the one that
  // took a job member's shard over while this run was stalled, and fenced
  // runs abort here; a restore publishes or removes pending parts.
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    auto name = entry.path().filename().string();
    if (name.rfind(".part-", 0) == 0 && name.size() > 11 &&
        name.compare(name.size() - 11, 11, ".inprogress") == 0)
      fs::remove(entry.path(), ec);
  }
  if (created_ && fs::is_empty(dir_, ec)) fs::remove(dir_, ec);
}

fs::path OutputDirectory::pending_path(int instance, std::int64_t epoch) const {
  return dir_ / fmt::format(".part-{:05d}-{:09d}.{}.pending", instance, epoch, spec_.extension);
}

fs::path OutputDirectory::epoch_path(int instance, std::int64_t epoch) const {
  return dir_ / fmt::format("part-{:05d}-{:09d}.{}", instance, epoch, spec_.extension);
}

void OutputDirectory::register_epoch_part(int instance, std::int64_t epoch) {
  std::lock_guard lock(mu_);
  create();
  epoch_parts_.emplace_back(instance, epoch);
}

void OutputDirectory::commit_epochs(const std::vector<std::pair<int, std::int64_t>>& parts) {
  std::lock_guard lock(mu_);
  std::error_code ec;
  for (auto [i, e] : parts) {
    if (fs::exists(pending_path(i, e), ec)) {
      fs::rename(pending_path(i, e), epoch_path(i, e), ec);
      if (ec) {
        throw UserError("cannot publish output file '" + epoch_path(i, e).string() +
                        "': " + ec.message());
      }
    } else if (!fs::exists(epoch_path(i, e), ec)) {
      // The checkpoint lists only parts that were written and closed: one
      // neither pending nor published was removed by someone else, and
      // publishing the epoch without it would lose its records quietly.
      throw UserError(fmt::format(
          "output part '{}' of checkpoint {} is gone: neither pending ('{}') nor published; "
          "something else removed it (another process writing into '{}'?)",
          epoch_path(i, e).string(), e, pending_path(i, e).filename().string(), dir_.string()));
    }
    published_.insert(epoch_path(i, e).filename().string());
  }
}

namespace {
// "part-00001-000000007.csv" or ".part-00001-000000007.csv.pending": the
// epoch (7), or -1 for names of other parts.
std::int64_t epoch_of(const std::string& name) {
  std::size_t p = name.rfind("part-", 1);
  if (p > 1) return -1;
  p += 5;
  std::size_t dash = name.find('-', p);
  if (dash == std::string::npos || dash - p != 5) return -1;
  std::size_t dot = name.find('.', dash);
  if (dot == std::string::npos || dot - dash - 1 != 9) return -1;
  try {
    return std::stoll(name.substr(dash + 1, 9));
  } catch (...) {
    return -1;
  }
}
}  // namespace

void OutputDirectory::recover(std::int64_t id,
                              const std::vector<std::pair<int, std::int64_t>>& parts) {
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return;
  commit_epochs(parts);
  std::lock_guard lock(mu_);
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    auto name = entry.path().filename().string();
    std::int64_t epoch = epoch_of(name);
    bool pending = name.rfind(".part-", 0) == 0;
    // What a later epoch wrote is written again by this run; what is still
    // pending was not covered by the checkpoint restored.
    if (name == "_SUCCESS" || pending || (epoch > id)) {
      fs::remove(entry.path(), ec);
    } else if (epoch >= 0) {
      published_.insert(name);
    }
  }
}

std::string encode_pending_parts(const std::vector<std::pair<int, std::int64_t>>& parts) {
  std::string out;
  ByteWriter w(out);
  w.put_varint(parts.size());
  for (auto [i, e] : parts) {
    w.put_varint(static_cast<std::uint64_t>(i));
    w.put_varint(static_cast<std::uint64_t>(e));
  }
  return out;
}

std::vector<std::pair<int, std::int64_t>> decode_pending_parts(
    const std::vector<std::string>& states) {
  std::vector<std::pair<int, std::int64_t>> parts;
  for (const auto& s : states) {
    ByteReader r(s);
    if (r.empty()) continue;
    for (auto n = r.get_varint(); n > 0; --n) {
      int i = static_cast<int>(r.get_varint());
      parts.emplace_back(i, static_cast<std::int64_t>(r.get_varint()));
    }
  }
  return parts;
}

PartWriter::PartWriter(fs::path path) : path_(std::move(path)) {
  // A checkpointed part is created, never truncated: a pending file of this
  // name is another run's (a restore removes the ones it does not publish),
  // so this run was taken over and must not write into it.
  const bool pending = path_.extension() == ".pending";
  file_ = std::fopen(path_.c_str(), pending ? "wbx" : "wb");
  if (file_ == nullptr && pending && errno == EEXIST) {
    throw state::FencedError("fenced: output file '" + path_.string() +
                             "' is being written by another run of this job (this run was taken "
                             "over); it stops without publishing");
  }
  if (file_ == nullptr) {
    throw UserError("cannot create output file '" + path_.string() + "': " + std::strerror(errno));
  }
  buf_.reserve((1u << 20) + 4096);
}

PartWriter::~PartWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void PartWriter::flush() {
  if (buf_.empty()) return;
  if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
    throw UserError("cannot write output file '" + path_.string() + "': " + std::strerror(errno) +
                    " (is the disk full?)");
  }
  buf_.clear();
}

void PartWriter::close_synced() {
  if (file_ == nullptr) return;
  flush();
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    throw UserError("cannot write output file '" + path_.string() + "': " + std::strerror(errno) +
                    " (is the disk full?)");
  }
  close();
}

void PartWriter::close() {
  if (file_ == nullptr) return;
  flush();
  int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) {
    throw UserError("cannot close output file '" + path_.string() + "': " + std::strerror(errno));
  }
}

}  // namespace runnel::detail
