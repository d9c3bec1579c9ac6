#include "state/synced_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace runnel::state {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void io_error(std::string_view context, const char* what, const fs::path& path) {
  throw std::runtime_error(
      fmt::format("{}: cannot {} '{}': {}", context, what, path.string(), std::strerror(errno)));
}

void write_all(int fd, const char* p, std::size_t n, const fs::path& path,
               std::string_view context) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      io_error(context, "write", path);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

void write_file_synced(const fs::path& path, const std::vector<const std::string*>& pieces,
                       std::string_view context) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_error(context, "create", path);
  try {
    for (const auto* s : pieces) write_all(fd, s->data(), s->size(), path, context);
    if (::fsync(fd) != 0) io_error(context, "fsync", path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) io_error(context, "close", path);
}

void fsync_dir(const fs::path& dir, std::string_view context) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) io_error(context, "open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) io_error(context, "fsync directory", dir);
}

void replace_file_synced(const fs::path& path, const std::string& content,
                         std::string_view context) {
  fs::path tmp = path;
  tmp.replace_filename(fmt::format(".{}.{}", path.filename().string(), ::getpid()));
  write_file_synced(tmp, {&content}, context);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    errno = err;
    io_error(context, "rename into place", path);
  }
  fsync_dir(path.has_parent_path() ? path.parent_path() : fs::path("."), context);
}

}  // namespace runnel::state
