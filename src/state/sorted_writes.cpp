#include "runnel/detail/sorted_writes.hpp"

#include <algorithm>

#include "runnel/detail/kv_store.hpp"

namespace runnel::detail {

void SortedWrites::write_to(KvStore& store, std::size_t keep_bytes) {
  const std::string_view bytes(bytes_);
  auto key_of = [&](const Row& r) { return bytes.substr(r.at, r.key_size); };
  // Stable: of two writes of one key, the later wins.
  std::stable_sort(rows_.begin(), rows_.end(),
                   [&](const Row& a, const Row& b) { return key_of(a) < key_of(b); });
  for (const Row& r : rows_) {
    if (r.put) {
      store.batch_put(key_of(r), bytes.substr(r.at + r.key_size, r.value_size));
    } else {
      store.batch_remove(key_of(r));
    }
  }
  store.write_batch();
  rows_.clear();
  bytes_.clear();
  if (bytes_.capacity() > keep_bytes) std::string().swap(bytes_);
}

}  // namespace runnel::detail
