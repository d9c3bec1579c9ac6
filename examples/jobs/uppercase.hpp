#pragma once
// Every line upper-cased (ASCII letters; other bytes as they are): the Beam
// example of a pure element-wise job.
#include <runnel/runnel.hpp>

namespace runnel::examples {

inline void uppercase(Pipeline& p, const Options& o) {
  p.read(o.text_input())
      .map([](std::string&& line) {
        for (auto& c : line) {
          if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
        }
        return std::move(line);
      })
      .write(o.text_output());
}

}  // namespace runnel::examples
