#include "checkpoints_command.hpp"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>

#include "observe/progress.hpp"
#include "state/checkpoint_store.hpp"

namespace runnel::tools {
namespace {

std::string utc(std::int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string size(std::uint64_t bytes) { return observe::human_bytes(static_cast<double>(bytes)); }

// "0-63" or "3, 9, 12-15": key groups as ranges.
std::string ranges(const std::vector<int>& kgs) {
  std::string out;
  for (std::size_t i = 0; i < kgs.size();) {
    std::size_t j = i;
    while (j + 1 < kgs.size() && kgs[j + 1] == kgs[j] + 1) ++j;
    out += out.empty() ? "" : ", ";
    out += j == i ? std::to_string(kgs[i]) : fmt::format("{}-{}", kgs[i], kgs[j]);
    i = j + 1;
  }
  return out;
}

std::string status(const state::CheckpointInfo& c) {
  return c.valid ? "complete"
                 : (c.problem.rfind("incomplete", 0) == 0 ? "" : "damaged: ") + c.problem;
}

}  // namespace

int list_checkpoints_command(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    fmt::print(stderr, "runnel: error: '{}' is not a directory of checkpoints\n", dir);
    return 2;
  }
  auto all = state::list_checkpoints(dir, true);
  if (all.empty()) {
    fmt::print("no checkpoints in '{}'\n", dir);
    return 0;
  }
  // NEW: what the checkpoint wrote, less the native files (RocksDB's, the
  // memory backend's row logs) it shares with the complete one before it.
  fmt::print("{:<10} {:<20} {:>10} {:>10} {:>9}  {}\n", "ID", "CREATED (UTC)", "SIZE", "NEW",
             "OPERATORS", "STATUS");
  const state::CheckpointInfo* before = nullptr;
  for (const auto& c : all) {
    const std::uint64_t shared = c.valid && before ? state::bytes_shared_with(c, *before) : 0;
    fmt::print("{:<10} {:<20} {:>10} {:>10} {:>9}  {}\n", c.id, utc(c.created_ms),
               c.valid ? size(c.bytes) : "-", c.valid ? size(c.bytes - shared) : "-",
               c.valid ? std::to_string(c.operators.size()) : "-", status(c));
    if (c.valid) before = &c;
  }
  std::vector<std::string> log;
  auto latest = state::load_latest(dir, log);
  fmt::print(
      "--restore latest would use: {}\n",
      latest ? latest->path.string() : std::string("none (the job starts from the beginning)"));
  return 0;
}

int inspect_checkpoint_command(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    fmt::print(stderr, "runnel: error: '{}' is not a checkpoint directory\n", path);
    return 2;
  }
  auto c = state::inspect_checkpoint(path, true);
  fmt::print("checkpoint {} ({}): {}\n", c.id, path, c.valid ? "complete and valid" : status(c));
  if (c.operators.empty()) return c.valid ? 0 : 1;
  fmt::print("created {} UTC, {} key groups, {} in all\n", utc(c.created_ms), c.max_parallelism,
             size(c.bytes));
  // The complete checkpoint before it in the same directory, if any.
  std::filesystem::path self(path);
  if (!self.has_filename()) self = self.parent_path();  // "ck/chk-000000012/"
  const auto siblings = state::list_checkpoints(self.parent_path(), false);
  const state::CheckpointInfo* before = nullptr;
  for (const auto& s : siblings)
    if (s.valid && s.id < c.id) before = &s;
  if (before != nullptr) {
    const std::uint64_t shared = state::bytes_shared_with(c, *before);
    fmt::print("shares {} of state files with checkpoint {} (the same files, linked); {} new\n",
               size(shared), before->id, size(c.bytes - shared));
  }
  for (const auto& op : c.operators) {
    fmt::print("operator {} '{}'{}: {} instance(s), state format {}\n", op.key, op.name,
               op.uid.empty() ? std::string() : fmt::format(" uid '{}'", op.uid), op.parallelism,
               op.format);
    for (const auto& inst : op.instances) {
      std::uint64_t op_state = 0, keyed = 0;
      std::vector<int> kgs;
      for (const auto& s : inst.sections) {
        if (s.key_group < 0) {
          op_state += s.length;
        } else {
          keyed += s.length;
          kgs.push_back(s.key_group);
        }
      }
      std::string line = fmt::format("  instance {}: {} ({}), operator state {}", inst.instance,
                                     inst.file, size(inst.bytes), size(op_state));
      if (!kgs.empty())
        line += fmt::format(", keyed state {} in {} key groups ({})", size(keyed), kgs.size(),
                            ranges(kgs));
      if (!inst.native_dir.empty()) {
        std::uint64_t native = 0;
        for (const auto& f : inst.native_files) native += f.bytes;
        line += fmt::format(", native snapshot {}/ ({} files, {})", inst.native_dir,
                            inst.native_files.size(), size(native));
      }
      fmt::print("{}\n", line);
    }
  }
  return c.valid ? 0 : 1;
}

}  // namespace runnel::tools
