#pragma once
// Errors a user can cause (a bad path, a bad flag, an output directory in the
// way) are UserError: their message says what and where and what to do, and
// the CLI exits with code 2. Anything else is an internal failure (exit 1).
#include <stdexcept>
#include <string>

namespace runnel {

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace runnel
