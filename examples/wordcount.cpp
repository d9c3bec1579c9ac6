// Word count as a user's own program: `wordcount --input 'books/*.txt' --output counts/`.
#include "jobs/wordcount.hpp"

int main(int argc, char** argv) {
  return runnel::run_main(argc, argv, runnel::examples::wordcount,
                          "Counts the words of text files");
}
