#pragma once
// What every keyed operator's restore does, written once: the watermark kept
// as the first field of its operator state, and the rows of RocksDB's native
// snapshots that fall in the restoring instance's key groups.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/detail/snapshot.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

// The watermark to restore from operator states that begin with one (a
// varint): the instance's own at unchanged parallelism, else the lowest of
// all old instances' (a window any of them fired stays fired, through its
// state). nullopt when none was saved; an ended instance's end of time
// (kMaxTimestamp) counts as none.
std::optional<Timestamp> restored_watermark(const RestoredState& in, int instance, int parallelism);

// The native snapshot this instance can take over as its database: its own
// old instance's, when the parallelism is unchanged (the key groups are the
// same). nullptr when there is none.
const std::string* adoptable_native_dir(const RestoredState& in, int instance, int parallelism);

// The part of one old instance's native snapshot that lies in a restoring
// instance's key groups: key groups [first, last] of the snapshot in `dir`.
struct NativePart {
  const std::string* dir;
  int first;
  int last;
};

// The parts of the native snapshots in `in` that lie in this instance's key
// groups, the one with most key groups first (that one a RocksDB instance
// takes over, deleting the rest by range; it ingests the others).
std::vector<NativePart> native_parts(const RestoredState& in, int instance, int parallelism,
                                     const KeyGroupRange& owned);

// Whether `in` holds any native snapshot.
bool has_native_snapshots(const RestoredState& in);
// Whether its native snapshots are a memory backend's row logs (RowLog), not
// RocksDB databases.
bool holds_row_logs(const RestoredState& in);

// Calls fn(key, value) for every row of the old instances' native snapshots
// that lies in this instance's key groups. Returns whether `in` held any
// native snapshot.
bool scan_native_rows(const RestoredState& in, int instance, int parallelism,
                      const KeyGroupRange& owned,
                      const std::function<void(std::string_view key, std::string_view value)>& fn);

}  // namespace runnel::detail
