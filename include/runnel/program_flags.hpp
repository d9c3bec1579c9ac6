#pragma once
// A run_main program's own flags, declared next to its pipeline (as Flink's
// ParameterTool or Beam's PipelineOptions interfaces), parsed with runnel's
// flags, listed by --help under "program flags", and refused the same way
// (a message naming the flag, exit 2):
//
//   int main(int argc, char** argv) {
//     runnel::ProgramFlags flags;
//     const double& min_revenue = flags.add("--min-revenue", 0.0, "SKUs with less are left out");
//     return runnel::run_main(argc, argv, flags, [&](runnel::Pipeline& p, const runnel::Options& o)
//     {
//       ... min_revenue ...
//     });
//   }
//
// A job spread over members (--job-id) requires every member to be started
// with the same values of these flags, as of runnel's own job flags.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace runnel {

class ProgramFlags {
 public:
  ProgramFlags();
  ~ProgramFlags();
  ProgramFlags(const ProgramFlags&) = delete;
  ProgramFlags& operator=(const ProgramFlags&) = delete;

  // Declares the flag `name` ("--threshold"): T is bool (a switch, given
  // without a value), int, std::int64_t, double or std::string. The
  // reference holds `default_value` until run_main parses the command line,
  // then the value given; it stays valid as long as this object.
  template <class T>
  const T& add(const std::string& name, T default_value, const std::string& help) {
    static_assert(std::is_same_v<T, bool> || std::is_same_v<T, int> ||
                      std::is_same_v<T, std::int64_t> || std::is_same_v<T, double> ||
                      std::is_same_v<T, std::string>,
                  "ProgramFlags::add: a flag's type is bool, int, std::int64_t, double or "
                  "std::string (write the default as 30, 30L, 30.0 or \"text\")");
    return declare<T>(name, std::move(default_value), help);
  }
  const std::string& add(const std::string& name, const char* default_value,
                         const std::string& help) {
    return add<std::string>(name, std::string(default_value), help);
  }

  // For a program that builds and runs its pipeline itself (not through
  // run_main): parses argv for these flags only. nullopt: go on; else the
  // exit code to return (0 after --help, 2 after a flag it refused, with
  // the message on stderr).
  std::optional<int> parse(int argc, char** argv, const std::string& description);

  // Every flag with its value (as given, or its default) as text.
  std::map<std::string, std::string> values() const;

  struct Impl;
  // For run_main: what it registers with its command-line parser.
  Impl& impl() const { return *impl_; }

 private:
  template <class T>
  const T& declare(const std::string& name, T default_value, const std::string& help);
  std::unique_ptr<Impl> impl_;
};

extern template const bool& ProgramFlags::declare<bool>(const std::string&, bool,
                                                        const std::string&);
extern template const int& ProgramFlags::declare<int>(const std::string&, int, const std::string&);
extern template const std::int64_t& ProgramFlags::declare<std::int64_t>(const std::string&,
                                                                        std::int64_t,
                                                                        const std::string&);
extern template const double& ProgramFlags::declare<double>(const std::string&, double,
                                                            const std::string&);
extern template const std::string& ProgramFlags::declare<std::string>(const std::string&,
                                                                      std::string,
                                                                      const std::string&);

}  // namespace runnel
