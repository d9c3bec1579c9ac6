#include "runnel/detail/output_files.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "runnel/error.hpp"

namespace runnel::detail {
namespace fs = std::filesystem;
namespace {

// What an earlier run of a runnel sink leaves in its directory.
bool is_runnel_output(const std::string& name) {
  return name == "_SUCCESS" || name == "_rejected" || name.rfind("part-", 0) == 0 ||
         name.rfind(".part-", 0) == 0;
}
}  // namespace

// Output directories claimed by sinks of running jobs in this process: two
// sinks writing one directory would overwrite each other's part files.
std::mutex claimed_mu;
std::set<fs::path> claimed;

OutputDirectory::OutputDirectory(OutputSpec spec) : spec_(std::move(spec)), dir_(spec_.dir) {
  if (spec_.dir.empty()) throw UserError("no output directory given: pass --output DIR");
  std::error_code ec;
  auto st = fs::status(dir_, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      throw UserError("output '" + spec_.dir +
                      "' exists and is not a directory; choose another --output");
    }
    std::vector<std::string> ours, others;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      auto name = entry.path().filename().string();
      (is_runnel_output(name) ? ours : others).push_back(name);
    }
    if ((!ours.empty() || !others.empty()) && !spec_.overwrite) {
      throw UserError(
          "output directory '" + spec_.dir +
          "' exists and is not empty; remove it, choose another --output, or pass --overwrite");
    }
    if (!others.empty()) {
      throw UserError("output directory '" + spec_.dir +
                      "' holds files runnel did not write (e.g. '" + others.front() +
                      "'); --overwrite only replaces runnel output, so choose another --output");
    }
  }
  key_ = fs::weakly_canonical(fs::absolute(dir_), ec);
  std::lock_guard lock(claimed_mu);
  if (!claimed.insert(key_).second) {
    throw UserError("two sinks write to the same output directory '" + spec_.dir +
                    "'; give each its own");
  }
  // Created on first write, not here: a job's sinks are prepared in plan
  // order, and the dead-letter sink's OUTPUT/_rejected must not make OUTPUT
  // look taken to the main sink.
}

OutputDirectory::~OutputDirectory() {
  std::lock_guard lock(claimed_mu);
  claimed.erase(key_);
}

void OutputDirectory::create() {
  std::error_code ec;
  if (fs::exists(dir_, ec)) return;
  fs::create_directories(dir_, ec);
  if (ec) throw UserError("cannot create output directory '" + spec_.dir + "': " + ec.message());
  created_ = true;
}

fs::path OutputDirectory::temp_path(int instance) const {
  return dir_ / fmt::format(".part-{:05d}.{}.inprogress", instance, spec_.extension);
}

fs::path OutputDirectory::final_path(int instance) const {
  return dir_ / fmt::format("part-{:05d}.{}", instance, spec_.extension);
}

void OutputDirectory::register_part(int instance) {
  std::lock_guard lock(mu_);
  create();
  parts_.push_back(instance);
}

void OutputDirectory::commit() {
  std::lock_guard lock(mu_);
  std::error_code ec;
  // An earlier run's output (--overwrite) goes only now that this run has
  // succeeded: its parts that this run does not replace, and its marker.
  if (fs::exists(dir_, ec)) {
    std::set<std::string> fresh;
    for (int i : parts_) fresh.insert(final_path(i).filename().string());
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      auto name = entry.path().filename().string();
      if ((name.rfind("part-", 0) == 0 && fresh.count(name) == 0) || name == "_SUCCESS") {
        fs::remove(entry.path(), ec);
      }
    }
  }
  for (int i : parts_) {
    fs::rename(temp_path(i), final_path(i), ec);
    if (ec) {
      throw UserError("cannot publish output file '" + final_path(i).string() +
                      "': " + ec.message());
    }
  }
  parts_.clear();
  if (spec_.success_marker) {
    create();
    std::FILE* f = std::fopen((dir_ / "_SUCCESS").c_str(), "wb");
    if (f == nullptr || std::fclose(f) != 0) {
      throw UserError("cannot write '" + (dir_ / "_SUCCESS").string() +
                      "': " + std::strerror(errno));
    }
  }
}

void OutputDirectory::abort() {
  std::lock_guard lock(mu_);
  std::error_code ec;
  for (int i : parts_) fs::remove(temp_path(i), ec);
  parts_.clear();
  if (!fs::exists(dir_, ec)) return;
  // Instances that failed before registering may have left a temporary file.
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    auto name = entry.path().filename().string();
    if (name.rfind(".part-", 0) == 0) fs::remove(entry.path(), ec);
  }
  if (created_ && fs::is_empty(dir_, ec)) fs::remove(dir_, ec);
}

PartWriter::PartWriter(fs::path path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) {
    throw UserError("cannot create output file '" + path_.string() + "': " + std::strerror(errno));
  }
  buf_.reserve((1u << 20) + 4096);
}

PartWriter::~PartWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void PartWriter::flush() {
  if (buf_.empty()) return;
  if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
    throw UserError("cannot write output file '" + path_.string() + "': " + std::strerror(errno) +
                    " (is the disk full?)");
  }
  buf_.clear();
}

void PartWriter::close() {
  if (file_ == nullptr) return;
  flush();
  int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) {
    throw UserError("cannot close output file '" + path_.string() + "': " + std::strerror(errno));
  }
}

}  // namespace runnel::detail
