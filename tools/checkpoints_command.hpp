#pragma once
// `runnel checkpoints list DIR` and `runnel checkpoints inspect PATH`: what a
// checkpoint directory holds, and whether each checkpoint is complete and valid.
#include <string>

namespace runnel::tools {

// Both return the process exit code: 0, 1 if a checkpoint inspected is not
// valid, 2 if the path is not there.
int list_checkpoints_command(const std::string& dir);
int inspect_checkpoint_command(const std::string& path);

}  // namespace runnel::tools
