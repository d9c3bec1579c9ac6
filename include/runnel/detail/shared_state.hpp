#pragma once
#include <string>
#include <typeinfo>

#include "runnel/detail/check.hpp"

namespace runnel {

// State shared by all parallel instances of one operator in one run (the file
// splits sources take from, a sink's output directory): the operator makes it
// (Operator::make_shared_state), the executor owns it and hands it back to
// the operator's hooks and instances, which take it as their own type.
class SharedState {
 public:
  virtual ~SharedState() = default;
  // This state as `T`, the type the operator made it with. Checked: another
  // type is a logic error that names both (never per batch: instances keep
  // the reference).
  template <class T>
  T& as() {
    auto* typed = dynamic_cast<T*>(this);
    if (typed == nullptr)
      detail::check_failed(
          __FILE__, __LINE__, "SharedState::as",
          std::string(typeid(*this).name()) + " where " + typeid(T).name() + " was expected");
    return *typed;
  }
};

}  // namespace runnel
