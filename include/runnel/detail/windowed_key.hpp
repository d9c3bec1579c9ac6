#pragma once
// Aggregations of windowed collections key their tables by (window, key).
// WindowedKeyRef looks such an entry up without building the pair, so a key
// is copied only when it is new, as in the unwindowed tables.
#include <cstdint>
#include <utility>

#include "runnel/hash.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

template <class K>
struct WindowedKeyRef {
  const Window& window;
  const K& key;

  // Equal to Hash<std::pair<Window, K>> of the pair it stands for.
  std::uint64_t hash() const { return hash_combine(Hash<Window>{}(window), Hash<K>{}(key)); }
  friend bool operator==(const std::pair<Window, K>& entry, const WindowedKeyRef& ref) {
    return entry.first == ref.window && entry.second == ref.key;
  }
};

}  // namespace runnel::detail
