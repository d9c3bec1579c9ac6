// libFuzzer target: a checkpoint's manifest and state files, as a restore
// reads them after a crash or from a disk someone else wrote. The input is
// the manifest's body (after its first line), then optionally "\n--\n" and
// the bytes of a state file named `s`; the manifest gets a correct checksum
// line, so the fuzzer reaches the parser behind it (the property test
// tests/property/checkpoint_corruption_property_test.cpp checks that damage
// is found by the checksums). inspect_checkpoint must say what is wrong
// without throwing; load_checkpoint throws only std::runtime_error; and no
// file a manifest names is read from outside its checkpoint.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_checks.hpp"
#include "runnel/hash.hpp"
#include "state/checkpoint_store.hpp"

namespace fs = std::filesystem;

namespace {

using runnel::fuzz::require;

void write(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Inside the checkpoint: relative, and never climbing out.
bool inside(const std::string& name) {
  if (name.empty()) return true;
  const fs::path p(name);
  if (p.is_absolute()) return false;
  for (const auto& part : p)
    if (part == "..") return false;
  return true;
}

const fs::path& checkpoint_dir() {
  static const fs::path dir = [] {
    fs::path d =
        fs::temp_directory_path() / ("runnel-checkpoint-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d / "chk-000000001");
    return d / "chk-000000001";
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view body = input, state;
  if (auto cut = input.find("\n--\n"); cut != std::string_view::npos) {
    body = input.substr(0, cut + 1);
    state = input.substr(cut + 4);
  }
  const fs::path& dir = checkpoint_dir();
  std::string manifest = "runnel-checkpoint 1\n";
  manifest += body;
  if (!manifest.empty() && manifest.back() != '\n') manifest += '\n';
  char line[32];
  std::snprintf(
      line, sizeof line, "checksum %016llx\n",
      static_cast<unsigned long long>(runnel::hash_bytes(manifest.data(), manifest.size())));
  manifest += line;
  write(dir / "_manifest", manifest);
  write(dir / "s", state);

  const runnel::state::CheckpointChecks checks{.fencing = false};
  runnel::state::CheckpointInfo info = runnel::state::inspect_checkpoint(dir, true, checks);
  for (const auto& op : info.operators) {
    for (const auto& inst : op.instances) {
      if (!info.valid) continue;
      require(inside(inst.file) && inside(inst.native_dir));
      for (const auto& f : inst.native_files) require(inside(f.name));
    }
  }
  try {
    runnel::state::LoadedCheckpoint loaded = runnel::state::load_checkpoint(dir, checks);
    require(info.valid);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
