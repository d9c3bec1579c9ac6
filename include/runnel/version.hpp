#pragma once
// The runnel library's version (project(runnel VERSION ...) in CMakeLists.txt),
// as `runnel --version`, a run_main program's --version and /api/job report it.
namespace runnel {

const char* version();

}  // namespace runnel
