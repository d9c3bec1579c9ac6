#include "runnel/detail/sorted_writes.hpp"

#include <algorithm>

#include "runnel/detail/kv_store.hpp"

namespace runnel::detail {

void SortedWrites::write_to(KvStore& store, std::size_t keep_bytes) {
  add_to_batch(store, keep_bytes);
  store.write_batch();
}

void SortedWrites::add_to_batch(KvStore& store, std::size_t keep_bytes) {
  const std::string_view bytes(bytes_);
  auto key_of = [&](const Row& r) { return bytes.substr(r.at, r.key_size); };
  // Stable: of two writes of one key, the later wins.
  std::stable_sort(rows_.begin(), rows_.end(),
                   [&](const Row& a, const Row& b) { return key_of(a) < key_of(b); });
  for (std::size_t i = 0; i < rows_.size();) {
    const std::string_view key = key_of(rows_[i]);
    std::size_t last = i;
    while (last + 1 < rows_.size() && key_of(rows_[last + 1]) == key) ++last;
    const Row& r = rows_[last];
    if (r.put) {
      store.batch_put(key, bytes.substr(r.at + r.key_size, r.value_size));
    } else if (!(rows_[i].put && rows_[i].fresh)) {  // else: never in the store
      store.batch_remove(key);
    }
    i = last + 1;
  }
  rows_.clear();
  bytes_.clear();
  // Many buffers (a key group's each) must not all keep what their busiest moment needed.
  if (bytes_.capacity() > keep_bytes) std::string().swap(bytes_);
  if (rows_.capacity() * sizeof(Row) > keep_bytes) std::vector<Row>().swap(rows_);
}

}  // namespace runnel::detail
