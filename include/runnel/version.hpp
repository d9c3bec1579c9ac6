#pragma once
// The runnel library's version ("0.1.0"), as `runnel --version`, a run_main
// program's --version and a job's /api/job report it.
namespace runnel {

const char* version();

}  // namespace runnel
