#pragma once
// A standby copy: a job member keeps, on its own disk, a copy of the newest
// complete checkpoint of a shard another member runs (--standby-replicas),
// so that if it takes the shard over, its restore reads local files whose
// checksums it already knows instead of the shared checkpoint storage
// (Flink's task-local recovery; Kafka Streams' standby tasks keep a warm
// store the same way). Files a checkpoint shares with the one copied before
// (RocksDB's table files, linked from checkpoint to checkpoint) are linked
// from that copy, not copied again.
#include <atomic>
#include <cstdint>
#include <filesystem>

namespace runnel::state {

// Copies the newest complete checkpoint of `from` (a shard's checkpoint
// directory) that no fenced run wrote into `to`/chk-N, unless `to` holds it
// or a newer one already. Every file is checked against the manifest before
// the copy is renamed into place (a copy that does not match is dropped).
// Returns the id of the newest copy `to` holds afterwards (0: none). Stops
// early, leaving what `to` held, when `cancel` becomes true. Older copies
// stay (remove_older_copies). Throws std::runtime_error on an IO error.
std::int64_t refresh_standby_copy(const std::filesystem::path& from,
                                  const std::filesystem::path& to, const std::atomic<bool>& cancel);

// Removes the copies in `to` older than checkpoint `keep`.
void remove_older_copies(const std::filesystem::path& to, std::int64_t keep);

}  // namespace runnel::state
