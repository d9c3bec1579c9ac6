#pragma once
// The output directory of a file sink, and each instance's part file. Parts
// are written under hidden temporary names and renamed to part-NNNNN.<ext>
// only when the whole job has succeeded; then _SUCCESS is written. A failed
// job leaves no file under a final name.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runnel/detail/shared_state.hpp"

namespace runnel::detail {

struct OutputSpec {
  std::string dir;
  std::string extension;       // "csv", "txt"
  bool overwrite = false;      // replace an earlier run's output
  bool success_marker = true;  // write _SUCCESS at the end
};

class OutputDirectory final : public SharedState {
 public:
  // Checks the directory. Throws UserError if it exists with files in it
  // (unless overwrite: an earlier run's parts are then replaced at commit), or
  // if another sink of this process writes to it. The directory is created
  // when the first part or _SUCCESS is written.
  // restoring: the directory may hold the output of the run being resumed.
  OutputDirectory(OutputSpec spec, bool restoring = false);
  ~OutputDirectory();
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  std::filesystem::path temp_path(int instance) const;
  std::filesystem::path final_path(int instance) const;
  void register_part(int instance);  // thread-safe
  void commit();                     // rename parts, drop stale ones, write _SUCCESS
  void abort();  // remove temporary parts (and the directory if this run made it)

  // Checkpointed output: the part of `instance` for `epoch`.
  std::filesystem::path pending_path(int instance, std::int64_t epoch) const;
  std::filesystem::path epoch_path(int instance, std::int64_t epoch) const;
  void register_epoch_part(int instance, std::int64_t epoch);  // thread-safe
  // Publishes pending parts, given as (instance, epoch); one already published
  // stays so; one neither pending nor published is a UserError (something else
  // removed it).
  void commit_epochs(const std::vector<std::pair<int, std::int64_t>>& parts);
  // A restore of checkpoint `id`: publishes `parts` (what it covers) and
  // removes later epochs' parts, pending or published, and _SUCCESS.
  void recover(std::int64_t id, const std::vector<std::pair<int, std::int64_t>>& parts);

 private:
  void create();
  OutputSpec spec_;
  std::filesystem::path dir_;
  std::filesystem::path key_;  // canonical, for the claim on the directory
  bool created_ = false;
  bool restoring_ = false;
  std::mutex mu_;
  std::vector<int> parts_;
  std::vector<std::pair<int, std::int64_t>> epoch_parts_;  // registered by this run
  std::set<std::string> published_;                        // epoch parts published before the end
};

// A buffered writer for one part file.
class PartWriter {
 public:
  explicit PartWriter(std::filesystem::path path);
  ~PartWriter();
  PartWriter(const PartWriter&) = delete;
  PartWriter& operator=(const PartWriter&) = delete;

  std::string& buffer() { return buf_; }
  // Writes the buffer out if it is large; call after appending a batch.
  void maybe_flush() {
    if (buf_.size() >= (1u << 20)) flush();
  }
  void close();
  // Writes everything out and fsyncs it before closing (a checkpoint will
  // vouch for the file).
  void close_synced();

 private:
  void flush();
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::string buf_;
};

}  // namespace runnel::detail
