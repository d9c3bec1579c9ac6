#include "runnel/detail/sorted_writes.hpp"

#include <algorithm>

#include "runnel/detail/kv_store.hpp"

namespace runnel::detail {

std::size_t SortedWrites::settle() {
  if (settled_ == rows_.size()) return settled_;
  auto by_key = [this](const Row& a, const Row& b) {
    return std::string_view(bytes_.data() + a.at, a.key_size) <
           std::string_view(bytes_.data() + b.at, b.key_size);
  };
  // Stable, and the settled rows came first: of two writes of one key, the later is last.
  const auto unsettled = rows_.begin() + static_cast<std::ptrdiff_t>(settled_);
  std::stable_sort(unsettled, rows_.end(), by_key);
  std::inplace_merge(rows_.begin(), unsettled, rows_.end(), by_key);
  std::size_t out = 0;
  for (std::size_t i = 0; i < rows_.size();) {
    std::size_t last = i;
    while (last + 1 < rows_.size() && key(last + 1) == key(i)) ++last;
    Row row = rows_[last];
    // Whether the store held the key before any of these writes is the first's to say.
    row.fresh = rows_[i].put && rows_[i].fresh;
    i = last + 1;
    if (!row.put && row.fresh) continue;  // never in the store
    rows_[out++] = row;
  }
  rows_.resize(out);
  settled_ = out;
  if (out == 0) bytes_.clear();
  return out;
}

std::size_t SortedWrites::lower_bound(std::string_view k) const {
  const auto at = std::partition_point(
      rows_.begin(), rows_.begin() + static_cast<std::ptrdiff_t>(settled_),
      [&](const Row& r) { return std::string_view(bytes_.data() + r.at, r.key_size) < k; });
  return static_cast<std::size_t>(at - rows_.begin());
}

void SortedWrites::write_to(KvStore& store, std::size_t keep_bytes) {
  add_to_batch(store, keep_bytes);
  store.write_batch();
}

void SortedWrites::add_to_batch(KvStore& store, std::size_t keep_bytes) {
  const std::size_t n = settle();
  for (std::size_t i = 0; i < n; ++i) {
    const Row& r = rows_[i];
    if (r.put) {
      store.batch_put(key(i), std::string_view(bytes_).substr(r.at + r.key_size, r.value_size));
    } else {
      store.batch_remove(key(i));
    }
  }
  rows_.clear();
  settled_ = 0;
  bytes_.clear();
  release_if_empty(keep_bytes);
}

void SortedWrites::release_if_empty(std::size_t keep_bytes) {
  if (!rows_.empty()) return;
  // Many buffers (a key group's each) must not all keep what their busiest moment needed.
  if (bytes_.capacity() > keep_bytes) std::string().swap(bytes_);
  if (rows_.capacity() * sizeof(Row) > keep_bytes) std::vector<Row>().swap(rows_);
}

}  // namespace runnel::detail
