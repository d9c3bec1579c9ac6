#include "state/savepoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "state/checkpoint_store.hpp"
#include "state/synced_file.hpp"

namespace runnel::state {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& path, const std::error_code& ec) {
  throw std::runtime_error(
      fmt::format("savepoint: cannot {} '{}': {}", what, path.string(), ec.message()));
}

// Links (or copies) every file under `from` into `to`, keeping the tree; each
// directory fsynced once its names are in.
void link_tree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) fail("create", to, ec);
  for (const auto& e : fs::directory_iterator(from, ec)) {
    const fs::path dst = to / e.path().filename();
    if (e.is_directory()) {
      link_tree(e.path(), dst);
      continue;
    }
    fs::create_hard_link(e.path(), dst, ec);
    if (ec) {
      ec.clear();
      // Another file system: a copy, written through before the rename.
      fs::copy_file(e.path(), dst, ec);
      if (ec) fail("copy into", dst, ec);
      const int fd = ::open(dst.c_str(), O_RDONLY | O_CLOEXEC);
      const bool synced = fd >= 0 && ::fsync(fd) == 0;
      const int error = errno;
      if (fd >= 0) ::close(fd);
      if (!synced) fail("fsync", dst, std::error_code(error, std::generic_category()));
    }
  }
  if (ec) fail("list", from, ec);
  fsync_dir(to, "savepoint");
}

}  // namespace

fs::path write_savepoint(const fs::path& checkpoint, const fs::path& savepoint_dir) {
  const CheckpointInfo info = inspect_checkpoint(checkpoint, false);
  if (!info.valid)
    throw std::runtime_error(fmt::format("savepoint: checkpoint '{}' is not usable: {}",
                                         checkpoint.string(), info.problem));
  std::error_code ec;
  fs::create_directories(savepoint_dir, ec);
  if (ec) fail("create", savepoint_dir, ec);
  std::string name = fmt::format("savepoint-{}", info.id);
  for (int k = 2; fs::exists(savepoint_dir / name, ec); ++k)
    name = fmt::format("savepoint-{}-{}", info.id, k);
  const fs::path final_dir = savepoint_dir / name;
  const fs::path tmp = savepoint_dir / (name + ".inprogress");
  fs::remove_all(tmp, ec);
  link_tree(checkpoint, tmp);
  fs::rename(tmp, final_dir, ec);
  if (ec) fail("rename into", final_dir, ec);
  fsync_dir(savepoint_dir, "savepoint");
  return final_dir;
}

}  // namespace runnel::state
