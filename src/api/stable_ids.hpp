#pragma once
// The ids a pipeline's transforms save their state under (NodeSpec::uid).
#include <vector>

#include "runnel/detail/node_spec.hpp"

namespace runnel::api {

// Derives the uids the user did not give: a transform's default id is its
// name after the ids of the stateful transforms and sources upstream of it,
// skipping stateless steps (map, filter, flat_map, a par_do without state,
// with_timestamps, flatten; window_into is stateful): adding or removing such
// a step, or a new branch, moves no state. A second transform with the same
// derived id gets " #2" (in the order they were added).
void assign_stable_ids(std::vector<NodeSpec>& nodes);

}  // namespace runnel::api
