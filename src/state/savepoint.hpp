#pragma once
// Savepoints: checkpoints a user keeps (for an upgrade, a move, a rollback).
// A savepoint is a complete checkpoint's files, linked (or copied across file
// systems) into a directory of its own, where retention never looks; it
// restores as a checkpoint does, by its path.
#include <cstdint>
#include <filesystem>

namespace runnel::state {

// Copies the complete checkpoint at `checkpoint` to savepoint_dir/savepoint-N
// (N its id; savepoint-N-2 and on if that name is taken), durably: it appears
// whole or not at all. Returns its path; throws std::runtime_error saying what
// failed.
std::filesystem::path write_savepoint(const std::filesystem::path& checkpoint,
                                      const std::filesystem::path& savepoint_dir);

}  // namespace runnel::state
