#pragma once
// Runs a pipeline while another thread does something to it (asks it to stop,
// takes a savepoint), and returns its result or rethrows its error.
#include <runnel/runnel.hpp>
#include <thread>
#include <utility>

namespace runnel::testing {

template <class F>
RunResult run_while(Pipeline& p, F meanwhile) {
  std::thread other(std::move(meanwhile));
  RunResult r;
  try {
    r = p.run();
  } catch (...) {
    other.join();
    throw;
  }
  other.join();
  return r;
}

}  // namespace runnel::testing
