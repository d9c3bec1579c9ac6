// Fraud detection as a user's own program:
//   fraud --input examples/data/transactions.csv --output out/
#include "jobs/fraud.hpp"

int main(int argc, char** argv) {
  return runnel::run_main(argc, argv, runnel::examples::fraud,
                          "Alerts for a small charge followed within a minute by a large one");
}
