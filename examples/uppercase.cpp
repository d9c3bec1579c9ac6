// Upper-cases every line: `uppercase --input in.txt --output out/`.
#include "jobs/uppercase.hpp"

int main(int argc, char** argv) {
  return runnel::run_main(argc, argv, runnel::examples::uppercase,
                          "Upper-cases every line of text files");
}
