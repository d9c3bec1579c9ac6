#include "runnel/detail/keyed_restore.hpp"

#include <algorithm>

#include "runnel/coder.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/kv_store.hpp"
#include "runnel/detail/row_log.hpp"

namespace runnel::detail {

std::optional<Timestamp> restored_watermark(const RestoredState& in, int instance,
                                            int parallelism) {
  const bool same = in.operator_states.size() == static_cast<std::size_t>(parallelism);
  std::optional<Timestamp> wm;
  for (std::size_t i = 0; i < in.operator_states.size(); ++i) {
    if (same && i != static_cast<std::size_t>(instance)) continue;
    ByteReader r(in.operator_states[i]);
    if (r.empty()) continue;
    const auto t = static_cast<Timestamp>(r.get_varint());
    // An instance that had ended saved the end of time: that says nothing of
    // the input a restored instance may still read (splits left by others).
    if (t >= kMaxTimestamp) continue;
    wm = wm ? std::min(*wm, t) : t;
  }
  return wm;
}

const std::string* adoptable_native_dir(const RestoredState& in, int instance, int parallelism) {
  if (in.native_dirs.size() != static_cast<std::size_t>(parallelism)) return nullptr;
  const std::string& dir = in.native_dirs[static_cast<std::size_t>(instance)];
  return dir.empty() ? nullptr : &dir;
}

std::vector<NativePart> native_parts(const RestoredState& in, int instance, int parallelism,
                                     const KeyGroupRange& owned) {
  const int n = static_cast<int>(in.native_dirs.size());
  const int first = owned.first_of(instance, parallelism);
  const int last = owned.last_of(instance, parallelism);
  const KeyGroupRange& saved = in.saved_key_groups.count > 0 ? in.saved_key_groups : owned;
  std::vector<NativePart> parts;
  for (int j = 0; j < n; ++j) {
    const std::string& dir = in.native_dirs[static_cast<std::size_t>(j)];
    if (dir.empty()) continue;
    const int from = std::max(first, saved.first_of(j, n));
    const int to = std::min(last, saved.last_of(j, n));
    if (from <= to) parts.push_back({&dir, from, to});
  }
  // Stable: of equal shares, the lower old instance comes first.
  std::stable_sort(parts.begin(), parts.end(), [](const NativePart& a, const NativePart& b) {
    return a.last - a.first > b.last - b.first;
  });
  return parts;
}

bool has_native_snapshots(const RestoredState& in) {
  return std::any_of(in.native_dirs.begin(), in.native_dirs.end(),
                     [](const std::string& d) { return !d.empty(); });
}

bool holds_row_logs(const RestoredState& in) {
  for (const std::string& d : in.native_dirs) {
    if (!d.empty()) return is_row_log_dir(d);
  }
  return false;
}

bool scan_native_rows(const RestoredState& in, int instance, int parallelism,
                      const KeyGroupRange& owned,
                      const std::function<void(std::string_view, std::string_view)>& fn) {
  for (const NativePart& part : native_parts(in, instance, parallelism, owned))
    scan_kv_snapshot(*part.dir, part.first, part.last, fn);
  return has_native_snapshots(in);
}

}  // namespace runnel::detail
