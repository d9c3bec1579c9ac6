#pragma once
// The output directory of a file sink, and each instance's part file. Parts
// are written under hidden temporary names and renamed to part-NNNNN.<ext>
// only when the whole job has succeeded; then _SUCCESS is written. A failed
// job leaves no file under a final name.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::detail {

struct OutputSpec {
  std::string dir;
  std::string extension;       // "csv", "txt"
  bool overwrite = false;      // replace an earlier run's output
  bool success_marker = true;  // write _SUCCESS at the end
};

class OutputDirectory {
 public:
  // Checks the directory. Throws UserError if it exists with files in it
  // (unless overwrite: an earlier run's parts are then replaced at commit), or
  // if another sink of this process writes to it. The directory is created
  // when the first part or _SUCCESS is written.
  explicit OutputDirectory(OutputSpec spec);
  ~OutputDirectory();
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  std::filesystem::path temp_path(int instance) const;
  std::filesystem::path final_path(int instance) const;
  void register_part(int instance);  // thread-safe
  void commit();                     // rename parts, drop stale ones, write _SUCCESS
  void abort();  // remove temporary parts (and the directory if this run made it)

 private:
  void create();
  OutputSpec spec_;
  std::filesystem::path dir_;
  std::filesystem::path key_;  // canonical, for the claim on the directory
  bool created_ = false;
  std::mutex mu_;
  std::vector<int> parts_;
};

// A buffered writer for one part file.
class PartWriter {
 public:
  explicit PartWriter(std::filesystem::path path);
  ~PartWriter();
  PartWriter(const PartWriter&) = delete;
  PartWriter& operator=(const PartWriter&) = delete;

  std::string& buffer() { return buf_; }
  // Writes the buffer out if it is large; call after appending a batch.
  void maybe_flush() {
    if (buf_.size() >= (1u << 20)) flush();
  }
  void close();

 private:
  void flush();
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::string buf_;
};

}  // namespace runnel::detail
