#pragma once
// Which run writes a checkpoint directory. The members of a scaled-out job
// hand a shard's directory from one to another when the Kafka group moves the
// shard; a member that stalled past its session (a long pause, a SIGSTOP, a
// frozen VM) lost the shard but may wake and go on writing. So every run
// claims the directory when it starts, before it restores: a file
// `_claim.NNNNNNNNN` created exclusively (two runs never get one number),
// then filled with the newest complete checkpoint found after it was created.
// A run whose claim is no longer the newest is fenced: it triggers no
// checkpoint barrier, completes no checkpoint and publishes no output, and a
// checkpoint it still finished after the newer claim (it checked just
// before) is no restore's. Flink gets the same from its leader election;
// here the directory itself holds the order.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "runnel/error.hpp"

namespace runnel::state {

struct CheckpointClaim {
  std::int64_t number = 0;    // 1, 2, ...: each claim one past the last
  std::int64_t after_id = 0;  // the newest complete checkpoint when it was made (0: none)
  std::int64_t unix_ms = 0;   // when
  std::string who;            // host and process, for people
};

// A run that another run took the checkpoint directory over from. A user
// error: restarting the run would take the directory back from its owner.
class FencedError : public UserError {
 public:
  using UserError::UserError;
};

// Claims `dir` (creating it) for a run; returns the claim's number. Throws
// std::runtime_error on an IO error.
std::int64_t claim_checkpoints(const std::filesystem::path& dir);

// The claims recorded in `dir`, oldest first (none when it has none). Throws
// std::runtime_error when the directory cannot be read.
std::vector<CheckpointClaim> read_claims(const std::filesystem::path& dir);

// Whether the newest claim on `dir` was made by this process (a run of it
// that failed may be restarted without taking the directory from another).
bool newest_claim_is_this_process(const std::filesystem::path& dir);

// Throws FencedError when a claim newer than `mine` was made on `dir`,
// saying which and when; `doing` is what the run was about to do. A
// directory that cannot be read (gone, not a directory) fences nothing.
void check_claim(const std::filesystem::path& dir, std::int64_t mine, const std::string& doing);

// Whether checkpoint `id`, written by the run of claim `claim`, was finished
// after a newer claim took the directory over (so it is a fenced run's).
// Checkpoints written before claims existed (claim 0) never are.
bool written_after_takeover(const std::vector<CheckpointClaim>& claims, std::int64_t claim,
                            std::int64_t id);

}  // namespace runnel::state
