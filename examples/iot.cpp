// IoT analytics as a user's own program: `iot --input examples/data/sensors.csv --output out/`.
#include "jobs/iot.hpp"

int main(int argc, char** argv) {
  return runnel::run_main(argc, argv, runnel::examples::iot,
                          "Per-device temperature averages, maxima and sessions");
}
