#pragma once
// A small disk that is full, for tests of what a job does when it cannot
// write (as root: a tmpfs mount; otherwise mounted() is false and the test
// skips, saying why).
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace runnel::testing {

// A tmpfs of `size_kb` mounted on dir, filled up to all but `free_kb` by a
// file `fill` (remove it: room again). Needs root; mounted() says.
class FullDisk {
 public:
  explicit FullDisk(const std::filesystem::path& dir, int size_kb = 64, int free_kb = 0)
      : dir_(dir) {
    std::filesystem::create_directories(dir);
    const std::string size = "size=" + std::to_string(size_kb) + "k";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, size.c_str()) != 0) {
      error_ = std::strerror(errno);
      return;
    }
    mounted_ = true;
    std::ofstream fill(dir / "fill", std::ios::binary);
    const std::string block(4096, 'x');
    for (int i = 0; i < (size_kb - free_kb) / 4 && fill.write(block.data(), block.size()); ++i)
      fill.flush();
  }
  ~FullDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace runnel::testing
