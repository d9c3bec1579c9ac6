#include "runnel/version.hpp"

namespace runnel {

// RUNNEL_VERSION_STRING comes from the project's version in CMakeLists.txt.
const char* version() { return RUNNEL_VERSION_STRING; }

}  // namespace runnel
