#include "state/checkpoint_claims.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "state/checkpoint_store.hpp"
#include "state/synced_file.hpp"

namespace runnel::state {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "_claim.";
// Enough history for people and for a long-stalled run's checkpoints; only
// the newest claims matter to the fence.
constexpr std::size_t kClaimsKept = 64;

std::string this_process() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '?';
  return fmt::format("{} pid {}", host, static_cast<long>(::getpid()));
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

fs::path claim_path(const fs::path& dir, std::int64_t number) {
  return dir / fmt::format("{}{:09d}", kPrefix, number);
}

// "_claim.000000012" -> 12; else -1.
std::int64_t claim_number(const std::string& name) {
  const std::size_t n = std::strlen(kPrefix);
  if (name.size() <= n || name.compare(0, n, kPrefix) != 0) return -1;
  if (!std::all_of(name.begin() + static_cast<std::ptrdiff_t>(n), name.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stoll(name.substr(n));
}

[[noreturn]] void io_error(const char* what, const fs::path& path, int err) {
  throw std::runtime_error(
      fmt::format("checkpoint claim: cannot {} '{}': {}", what, path.string(), std::strerror(err)));
}

void write_claim(int fd, const fs::path& path, const CheckpointClaim& c) {
  const std::string text = fmt::format("{} {} {}\n", c.after_id, c.unix_ms, c.who);
  // One write of a short line at offset 0: a reader sees the old line or the new one.
  if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    io_error("write", path, errno);
  if (::ftruncate(fd, static_cast<off_t>(text.size())) != 0) io_error("write", path, errno);
  if (::fsync(fd) != 0) io_error("fsync", path, errno);
}

// The newest complete checkpoint's id in dir (0: none), as the claims
// before claim `mine` have it: the claim being made is on disk already, and a
// checkpoint the run before finished meanwhile is that run's to count.
std::int64_t newest_complete(const fs::path& dir, std::int64_t mine) {
  std::vector<CheckpointClaim> before = read_claims(dir);
  std::erase_if(before, [&](const CheckpointClaim& c) { return c.number >= mine; });
  std::int64_t newest = 0;
  for (const auto& c : list_checkpoints(dir, false, {.fencing = false}))
    if (c.valid && !written_after_takeover(before, c.claim, c.id)) newest = std::max(newest, c.id);
  return newest;
}

}  // namespace

std::vector<CheckpointClaim> read_claims(const fs::path& dir) {
  std::vector<CheckpointClaim> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  fs::directory_iterator it(dir, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("checkpoint claim: cannot list '{}': {}", dir.string(), ec.message()));
  for (const auto& entry : it) {
    const std::int64_t number = claim_number(entry.path().filename().string());
    if (number < 0) continue;
    CheckpointClaim c;
    c.number = number;
    std::ifstream in(entry.path());
    // A claim being made (created, not yet filled) found nothing complete
    // after it yet: 0 until it says.
    if (in) in >> c.after_id >> c.unix_ms;
    if (in) std::getline(in >> std::ws, c.who);
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const CheckpointClaim& a, const CheckpointClaim& b) { return a.number < b.number; });
  return out;
}

std::int64_t claim_checkpoints(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("checkpoint: cannot create '{}': {}", dir.string(), ec.message()));
  const auto claims = read_claims(dir);
  CheckpointClaim mine;
  mine.number = claims.empty() ? 1 : claims.back().number + 1;
  mine.unix_ms = now_ms();
  mine.who = this_process();
  mine.after_id = newest_complete(dir, mine.number);
  // Exclusive creation: of two runs claiming at once, one gets the number
  // and the other the next.
  int fd = -1;
  for (;; ++mine.number) {
    fd =
        ::open(claim_path(dir, mine.number).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) break;
    if (errno != EEXIST) io_error("create", claim_path(dir, mine.number), errno);
  }
  const fs::path path = claim_path(dir, mine.number);
  try {
    // Created before it looks: a checkpoint the run before finishes from
    // now on is checked against this claim and fenced; one it finished
    // before is found here and counted as that run's.
    write_claim(fd, path, mine);
    fsync_dir(dir, "checkpoint claim");
    if (const std::int64_t now = newest_complete(dir, mine.number); now != mine.after_id) {
      mine.after_id = now;
      write_claim(fd, path, mine);
    }
  } catch (...) {
    // Not a claim this run holds: it must not fence the run before either.
    ::close(fd);
    ::unlink(path.c_str());
    throw;
  }
  ::close(fd);
  // Old claims go (a crash between create and fill leaves one: harmless).
  for (const auto& c : claims) {
    if (c.number + static_cast<std::int64_t>(kClaimsKept) < mine.number)
      fs::remove(claim_path(dir, c.number), ec);
  }
  return mine.number;
}

bool newest_claim_is_this_process(const fs::path& dir) {
  const auto claims = read_claims(dir);
  return claims.empty() || claims.back().who == this_process();
}

void check_claim(const fs::path& dir, std::int64_t mine, const std::string& doing) {
  std::vector<CheckpointClaim> claims;
  try {
    claims = read_claims(dir);
  } catch (const std::runtime_error&) {
    // A directory that cannot be read shows no newer claim; the checkpoint
    // written there fails by itself, as a failure tolerated or not.
    return;
  }
  if (claims.empty() || claims.back().number == mine) return;
  const auto& newer = claims.back();
  throw FencedError(fmt::format(
      "fenced before {}: checkpoint directory '{}' was claimed by another run ({}, claim {} at "
      "{} ms since the epoch; this run's claim is {}): this run was taken over (a member of a "
      "scaled-out job that stalled past its Kafka session, or a second copy of the job on the "
      "same --checkpoint-dir) and stops without completing a checkpoint or publishing output",
      doing, dir.string(), newer.who, newer.number, newer.unix_ms, mine));
}

bool written_after_takeover(const std::vector<CheckpointClaim>& claims, std::int64_t claim,
                            std::int64_t id) {
  if (claim <= 0) return false;
  // The first claim after the writer's: checkpoints it found complete were
  // the writer's to finish; the rest came after the writer was replaced.
  for (const auto& c : claims)
    if (c.number > claim) return id > c.after_id;
  return false;
}

}  // namespace runnel::state
