#pragma once
// The memory backend's checkpoints, incremental: an instance writes the rows
// that changed since its last checkpoint (and the keys of the rows that went)
// into a log file, and a checkpoint holds the chain of log files since the
// last full one (every row), as hard links shared with the checkpoints
// before it. Every `full_every`-th log is full, and so is the first of a
// run and any log whose predecessor's checkpoint did not complete (what
// changed before it would be lost with it), so a restore reads at most
// full_every files per instance, and retention can delete any checkpoint:
// a file goes when the last checkpoint linking it goes.
//
// Rows are stored as the RocksDB backend stores them (KeyedRows' codec,
// keys led by their key group), so either backend restores either's
// checkpoints, at any parallelism.
//
// A log file: a header line, then records (varint key length, key, varint
// 0 for a removed row or value length + 1, value).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/detail/native_snapshots.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/detail/snapshot.hpp"

namespace runnel {
class BytesHasher;
}

namespace runnel::detail {

class RowLog {
 public:
  explicit RowLog(const InstanceContext& ctx);
  RowLog(const RowLog&) = delete;
  RowLog& operator=(const RowLog&) = delete;
  ~RowLog();

  // Starts the log of checkpoint `id`, whose chain goes to out.native_dir;
  // returns whether it must be full (every row put; else the rows changed
  // and removed since the last log). On the task thread.
  bool begin(std::int64_t id, OperatorSnapshot& out);
  // These may run on another thread, one log at a time, after begin.
  void put(std::string_view key, std::string_view value);
  void remove(std::string_view key);
  // Ends the log and links the chain into out.native_dir.
  void finish();

 private:
  void write_out();

  std::filesystem::path dir_;  // this instance's log files
  int full_every_;
  const std::atomic<std::int64_t>* completed_;
  NativeSnapshots snapshots_;
  std::vector<std::filesystem::path> chain_;  // the last full log, then the changes since
  std::int64_t last_id_ = 0;                  // the checkpoint of chain_'s last log
  std::uint64_t seq_ = 0;
  int fd_ = -1;
  std::filesystem::path path_;  // the log being written
  std::filesystem::path snap_;  // where its chain goes (begin's out.native_dir)
  std::string buffer_;
  std::unique_ptr<BytesHasher> hasher_;  // the log's checksum, as it is written
};

// Whether `dir` (a native snapshot) holds row logs, not a RocksDB database.
bool is_row_log_dir(const std::filesystem::path& dir);

// The records of key groups [first, last] of the row logs in `dir`, oldest
// first: fn(key, value) with value null for a removed row. Throws
// std::runtime_error if a log is damaged.
void scan_row_logs(
    const std::filesystem::path& dir, int first, int last,
    const std::function<void(std::string_view key, const std::string_view* value)>& fn);

}  // namespace runnel::detail
