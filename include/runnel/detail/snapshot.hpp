#pragma once
// What an operator instance saves at a checkpoint and gets back at a restore.
//
// Two kinds of state, as in Flink:
// - keyed state, cut by key group: a restore at another parallelism hands
//   each instance the key groups it now owns;
// - operator state (a source's positions, a sink's pending files): at a
//   restore every instance receives every old instance's operator state
//   (Flink's union list state) and keeps what belongs to it.
#include <cstdint>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "runnel/detail/key_groups.hpp"

namespace runnel {

// Where keyed state lives while a job runs.
enum class StateBackend {
  kMemory,   // hash tables in memory (the default)
  kRocksDB,  // a RocksDB database per operator instance, for state larger than memory
};

// Where the RocksDB backend keeps timers (Flink's
// state.backend.rocksdb.timer-service.factory, ROCKSDB or HEAP).
enum class RocksDbTimers {
  kRocksDB,  // in each instance's database, within --memory-budget (the default)
  kMemory,   // in memory beside it, outside the budget: no write or read per timer
};

// How an operator takes part in checkpoints.
enum class CheckpointSupport {
  kUnsupported,  // a pipeline holding it cannot be checkpointed (yet)
  kStateless,    // nothing to save (map, filter); snapshot() is still called at
                 // each barrier, to send on what it holds back (a partial combine)
  kStateful,     // implements OperatorInstance::snapshot and restore
};

struct OperatorSnapshot {
  std::string operator_state;
  std::vector<std::string> key_groups;  // [key group] -> bytes; empty = nothing
  // A directory the instance wrote its keyed state into natively (the
  // RocksDB backend's checkpoint: hard links to its SST files), cut by key
  // group inside; the checkpoint moves it in whole. Empty: none.
  std::string native_dir;
  // Valid while native_dir is still being written off the task thread (the
  // memory backend's asynchronous checkpoints): see wait_written.
  std::shared_future<void> pending;

  // Waits until native_dir is written; rethrows what kept it from being written.
  void wait_written() const {
    if (pending.valid()) pending.get();
  }

  // The bytes of key group `kg` (of `max_parallelism`), to append to.
  std::string& key_group(int kg, int max_parallelism) {
    if (key_groups.size() < static_cast<std::size_t>(max_parallelism))
      key_groups.resize(static_cast<std::size_t>(max_parallelism));
    return key_groups[static_cast<std::size_t>(kg)];
  }
  std::uint64_t bytes() const {
    std::uint64_t n = operator_state.size();
    for (const auto& k : key_groups) n += k.size();
    return n;  // a native directory's size is counted when it is written
  }
};

struct RestoredState {
  std::int64_t checkpoint_id = 0;
  std::uint32_t format = 1;                  // the Operator::state_format() that wrote it
  std::vector<std::string> operator_states;  // every old instance's
  std::vector<std::pair<int, std::string>> key_groups;  // the ones this instance owns
  // Every old instance's native directory (empty where it had none); old
  // instance i of n held key groups saved_key_groups.first_of(i, n) ..
  // saved_key_groups.last_of(i, n) (see key_groups.hpp).
  std::vector<std::string> native_dirs;
  // The key groups the checkpointed run owned (count 0: the ones this run owns).
  KeyGroupRange saved_key_groups;
};

}  // namespace runnel
