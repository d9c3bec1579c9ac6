#pragma once
// Checkpoints on disk. A checkpoint is a directory CK/chk-NNNNNNNNN holding
// one file per operator instance (its operator state, then its keyed state
// cut into key-group sections), for the RocksDB backend a directory per
// instance with RocksDB's own checkpoint files (hard links), and a
// `_manifest` naming every section and file with its size and checksum. It is written under a
// temporary name (chk-N.inprogress), every file fsynced, and renamed into place as a whole: a
// directory named chk-N is complete, or it is detected as damaged.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runnel/detail/snapshot.hpp"

namespace runnel::state {

// One operator of the job, with each instance's snapshot.
struct OperatorCheckpoint {
  std::string key;           // names its files: the position in the plan ("task.op")
  std::string uid;           // what a restore maps its state by (PCollection::uid)
  std::string name;          // for people, and to check a restore's transform is the same kind
  std::uint32_t format = 1;  // Operator::state_format() of what the instances wrote
  std::vector<OperatorSnapshot> instances;
};

struct CheckpointContent {
  std::int64_t id = 0;
  int max_parallelism = 128;
  KeyGroupRange key_groups;  // the ones the run owned (count 0: all)
  std::int64_t claim = 0;    // the writing run's claim on the directory (checkpoint_claims.hpp)
  std::vector<OperatorCheckpoint> operators;
};

// Writes checkpoint content.id under dir; returns the bytes written.
// Throws std::runtime_error (with the path) on an IO error, having removed what it wrote.
std::uint64_t write_checkpoint(const std::filesystem::path& dir, const CheckpointContent& content);

// What a checkpoint directory holds, from its manifest.
struct SectionInfo {
  int key_group = -1;  // -1: operator state
  std::uint64_t offset = 0, length = 0, checksum = 0;
};
// A file of a native snapshot directory (RocksDB's), with its checksum.
struct NativeFileInfo {
  std::string name;
  std::uint64_t bytes = 0, checksum = 0;
};
struct InstanceInfo {
  int instance = 0;
  std::string file;
  std::uint64_t bytes = 0;
  std::vector<SectionInfo> sections;
  std::string native_dir;  // relative to the checkpoint; empty: none
  std::vector<NativeFileInfo> native_files;
};
struct OperatorInfo {
  std::string key, name;
  std::string uid;  // empty in checkpoints written before runnel saved state by uid
  int parallelism = 0;
  std::uint32_t format = 1;  // 1 when the manifest names none (checkpoints written before it)
  std::vector<InstanceInfo> instances;
};
struct CheckpointInfo {
  std::int64_t id = 0;
  std::filesystem::path path;
  std::int64_t created_ms = 0;
  int max_parallelism = 0;
  KeyGroupRange key_groups;  // the ones the run owned (all, for a checkpoint before shares)
  std::int64_t claim = 0;    // the writing run's claim (0: written before claims)
  std::uint64_t bytes = 0;
  std::vector<OperatorInfo> operators;
  bool valid = false;   // manifest present and intact (and, if verified, every section)
  std::string problem;  // why not valid
};

// A file that will be linked into checkpoints (a native snapshot's) has
// this checksum, computed as it was written: it is not read to compute it
// again. The file must not change after this.
void remember_checksum(const std::filesystem::path& file, std::uint64_t checksum);

// What inspecting or loading a checkpoint holds against it besides its files.
struct CheckpointChecks {
  // One a fenced run finished (checkpoint_claims.hpp) is not complete: its
  // directory's claims are read.
  bool fencing = true;
  // A native file whose checksum this process learnt by reading it (a
  // standby copy it checked, standby_copy.hpp) is not read again.
  bool trust_read_checksums = false;
};

// Reads a checkpoint's manifest; with verify, also every section's checksum.
CheckpointInfo inspect_checkpoint(const std::filesystem::path& path, bool verify,
                                  const CheckpointChecks& checks = {});

// Bytes of c's native files (RocksDB's, row logs) that are the very files (hard links, one inode)
// of one of `before`'s: written once, shared by both (as the SST files an
// incremental checkpoint shares in Flink). Files gone count as not shared.
std::uint64_t bytes_shared_with(const CheckpointInfo& c, const CheckpointInfo& before);

// Every chk-N directory under dir (in-progress ones too), by id.
std::vector<CheckpointInfo> list_checkpoints(const std::filesystem::path& dir, bool verify,
                                             const CheckpointChecks& checks = {});

// The directory of checkpoint `id` under `dir` (once complete).
std::filesystem::path checkpoint_path(const std::filesystem::path& dir, std::int64_t id);

// The highest checkpoint id ever used under dir (complete or not); 0 if none.
std::int64_t highest_checkpoint_id(const std::filesystem::path& dir);

// A checkpoint read back for a restore.
struct LoadedOperator {
  std::string uid;  // empty: an old checkpoint, whose state maps by position (the key)
  std::string name;
  int parallelism = 0;
  std::uint32_t format = 1;
  std::vector<std::string> operator_states;  // per old instance
  std::vector<std::string> key_groups;       // per key group, from whichever instance held it
  std::vector<std::string> native_dirs;      // per old instance: absolute path, or empty
};
struct LoadedCheckpoint {
  std::int64_t id = 0;
  std::filesystem::path path;
  int max_parallelism = 0;
  KeyGroupRange key_groups;
  std::int64_t claim = 0;
  std::vector<std::pair<std::string, LoadedOperator>> operators;  // by key ("task.op")
  // Written before runnel saved state by uid: it restores only into the same
  // plan, by position.
  bool positional() const;
  const LoadedOperator* find(const std::string& key) const;
  const LoadedOperator* find_uid(const std::string& uid) const;
};

// Loads and verifies a checkpoint; throws std::runtime_error saying what is wrong.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path,
                                 const CheckpointChecks& checks = {});

// `--restore latest`: the newest checkpoint under dir that loads and
// verifies, that no fenced run finished (checkpoint_claims.hpp), and that
// `problem` (if given) has nothing against (it returns why not); newer ones
// are skipped, each with a line to `log`. nullopt if there is none.
// `local_copy` (may be empty): a directory of copies of dir's checkpoints
// (standby_copy.hpp); the one chosen is read from its copy when the copy
// has the same manifest and loads, else from dir.
std::optional<LoadedCheckpoint> load_latest(
    const std::filesystem::path& dir, std::vector<std::string>& log,
    const std::function<std::string(const LoadedCheckpoint&)>& problem = {},
    const std::filesystem::path& local_copy = {});

// Keeps the newest `keep` complete checkpoints; removes older ones and
// in-progress directories older than the newest complete one.
void retain_checkpoints(const std::filesystem::path& dir, int keep);

}  // namespace runnel::state
