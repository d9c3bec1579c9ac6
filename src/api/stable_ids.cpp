#include "api/stable_ids.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "runnel/hash.hpp"

namespace runnel::api {
namespace {

// A stateless one-input-at-a-time step: it saves nothing, so the ids below it
// do not depend on it.
bool transparent(const NodeSpec& n) {
  return (n.kind == OperatorKind::kElementWise || n.kind == OperatorKind::kMultiInput) &&
         n.op->checkpoint_support() == CheckpointSupport::kStateless;
}

// Long paths (deep or wide graphs) are shortened to a hash of the upstream
// part: an id stays readable in messages and in the manifest.
std::string shorten(const std::string& upstream) {
  constexpr std::size_t kLongest = 160;
  if (upstream.size() <= kLongest) return upstream;
  return fmt::format("{:016x}", hash_bytes(upstream.data(), upstream.size()));
}

}  // namespace

void assign_stable_ids(std::vector<NodeSpec>& nodes) {
  std::map<std::string, std::string> given;  // uid -> the transform's name
  for (const auto& n : nodes) {
    if (n.uid.empty()) continue;
    // (set_uid refuses a second one.)
    if (auto [it, fresh] = given.emplace(n.uid, n.name); !fresh)
      throw std::logic_error(
          fmt::format("uid '{}' is given to '{}' and '{}'", n.uid, it->second, n.name));
  }
  // The stateful ids each node's output descends from (a node's inputs come
  // before it).
  std::vector<std::set<std::string>> anchors(nodes.size());
  std::set<std::string> used;
  for (const auto& [uid, name] : given) used.insert(uid);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    NodeSpec& n = nodes[i];
    std::set<std::string> upstream;
    for (const auto& in : n.inputs) {
      const auto& a = anchors.at(static_cast<std::size_t>(in.node));
      upstream.insert(a.begin(), a.end());
    }
    if (n.uid.empty()) {
      std::string path;
      for (const auto& u : upstream) path += (path.empty() ? "" : "+") + u;
      const std::string base = path.empty() ? n.name : shorten(path) + "/" + n.name;
      std::string id = base;
      for (int k = 2; used.count(id) != 0; ++k) id = fmt::format("{} #{}", base, k);
      n.uid = id;
      used.insert(id);
    }
    anchors[i] = transparent(n) ? std::move(upstream) : std::set<std::string>{n.uid};
  }
}

}  // namespace runnel::api
