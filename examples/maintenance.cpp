// Predictive maintenance as a user's own program:
// `maintenance --input examples/data/vibration.csv --output out/ --mode streaming`.
#include "jobs/maintenance.hpp"

int main(int argc, char** argv) {
  return runnel::run_main(argc, argv, runnel::examples::maintenance,
                          "Per-machine vibration statistics and early alerts");
}
