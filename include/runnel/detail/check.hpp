#pragma once
// Checks of the engine's own invariants (not of user input: that is a
// UserError, error.hpp). A failed check throws std::logic_error naming the
// place, the condition and the values of both operands, so a broken
// invariant reads as what happened, not as a bare abort:
//
//   RUNNEL_CHECK_LT(channel, channels) -> "executor.cpp:12: check failed:
//   channel < channels (7 vs 4)"
//
// The executor reports it like any other error, with the task it ran in.
#include <sstream>
#include <stdexcept>
#include <string>

namespace runnel::detail {

[[noreturn]] inline void check_failed(const char* file, int line, const char* what,
                                      const std::string& values) {
  std::string msg = std::string(file) + ":" + std::to_string(line) + ": check failed: " + what;
  if (!values.empty()) msg += " (" + values + ")";
  throw std::logic_error(msg);
}

template <class A, class B>
[[noreturn]] void check_op_failed(const char* file, int line, const char* what, const A& a,
                                  const B& b) {
  std::ostringstream values;
  values << a << " vs " << b;
  check_failed(file, line, what, values.str());
}

}  // namespace runnel::detail

#define RUNNEL_CHECK(cond, message)                                                    \
  do {                                                                                 \
    if (!(cond)) [[unlikely]]                                                          \
      ::runnel::detail::check_failed(__FILE__, __LINE__, #cond, std::string(message)); \
  } while (false)

#define RUNNEL_CHECK_OP_(a, b, op)                                                              \
  do {                                                                                          \
    const auto& runnel_check_a_ = (a);                                                          \
    const auto& runnel_check_b_ = (b);                                                          \
    if (!(runnel_check_a_ op runnel_check_b_)) [[unlikely]]                                     \
      ::runnel::detail::check_op_failed(__FILE__, __LINE__, #a " " #op " " #b, runnel_check_a_, \
                                        runnel_check_b_);                                       \
  } while (false)

#define RUNNEL_CHECK_EQ(a, b) RUNNEL_CHECK_OP_(a, b, ==)
#define RUNNEL_CHECK_NE(a, b) RUNNEL_CHECK_OP_(a, b, !=)
#define RUNNEL_CHECK_LT(a, b) RUNNEL_CHECK_OP_(a, b, <)
#define RUNNEL_CHECK_LE(a, b) RUNNEL_CHECK_OP_(a, b, <=)
