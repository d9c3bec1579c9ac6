#pragma once
// Small files that must survive a crash whole: written, fsynced, and (for a
// replace) renamed over the old one with the directory fsynced, so a reader
// sees the old file or the new one, never a torn or empty one.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::state {

// Writes the pieces to `path` and fsyncs it. Errors are std::runtime_error
// "<context>: cannot <what> '<path>': <reason>".
void write_file_synced(const std::filesystem::path& path,
                       const std::vector<const std::string*>& pieces, std::string_view context);
// Fsyncs a directory, so the names created or renamed in it are durable.
void fsync_dir(const std::filesystem::path& dir, std::string_view context);
// Replaces `path` by a file holding `content`, atomically and durably
// (temporary file named after this process, then rename). Several
// processes may replace the same file at once: the last rename wins.
void replace_file_synced(const std::filesystem::path& path, const std::string& content,
                         std::string_view context);

}  // namespace runnel::state
