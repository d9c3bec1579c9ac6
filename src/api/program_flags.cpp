#include <fmt/format.h>

#include <cctype>

#include "api/program_flags_impl.hpp"
#include "core/log.hpp"
#include "runnel/error.hpp"

namespace runnel {

ProgramFlags::ProgramFlags() : impl_(std::make_unique<Impl>()) {}
ProgramFlags::~ProgramFlags() = default;

namespace {

template <class T>
std::string as_text(const T& v) {
  if constexpr (std::is_same_v<T, bool>)
    return v ? "true" : "false";
  else
    return fmt::format("{}", v);
}

// Why `name` cannot be a flag's name; empty if it can.
std::string name_problem(const std::string& name) {
  if (name.size() < 3 || name.compare(0, 2, "--") != 0 || name[2] == '-')
    return fmt::format("program flag '{}': a flag's name is -- and a word, e.g. --threshold", name);
  for (std::size_t i = 2; i < name.size(); ++i) {
    const char c = name[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return fmt::format(
          "program flag '{}': '{}' cannot be in a flag's name (use letters, digits, "
          "'-' and '_')",
          name, c);
  }
  return {};
}

}  // namespace

template <class T>
const T& ProgramFlags::declare(const std::string& name, T default_value, const std::string& help) {
  auto value = std::make_shared<T>(std::move(default_value));
  T* v = value.get();
  impl_->values.push_back(value);
  if (impl_->problem.empty()) impl_->problem = name_problem(name);
  for (const auto& f : impl_->flags)
    if (f.name == name && impl_->problem.empty())
      impl_->problem = fmt::format("program flag '{}' is declared twice", name);
  const std::string shown = as_text(*v);
  impl_->flags.push_back({name,
                          [name, help, v, shown](CLI::App& group) {
                            if constexpr (std::is_same_v<T, bool>)
                              group.add_flag(name, *v, help);
                            else
                              group.add_option(name, *v, help)->default_str(shown);
                          },
                          [v] { return as_text(*v); }, shown});
  return *v;
}

template const bool& ProgramFlags::declare<bool>(const std::string&, bool, const std::string&);
template const int& ProgramFlags::declare<int>(const std::string&, int, const std::string&);
template const std::int64_t& ProgramFlags::declare<std::int64_t>(const std::string&, std::int64_t,
                                                                 const std::string&);
template const double& ProgramFlags::declare<double>(const std::string&, double,
                                                     const std::string&);
template const std::string& ProgramFlags::declare<std::string>(const std::string&, std::string,
                                                               const std::string&);

std::map<std::string, std::string> ProgramFlags::values() const {
  std::map<std::string, std::string> out;
  for (const auto& f : impl_->flags) out[f.name] = f.text();
  return out;
}

std::map<std::string, std::string> ProgramFlags::Impl::changed() const {
  std::map<std::string, std::string> out;
  for (const auto& f : flags)
    if (std::string v = f.text(); v != f.default_text) out[f.name] = std::move(v);
  return out;
}

void ProgramFlags::Impl::register_on(CLI::App& app) const {
  if (!problem.empty()) throw UserError(problem);
  if (flags.empty()) return;
  CLI::Option_group* group = app.add_option_group("program flags", "this program's own flags");
  for (const auto& f : flags) {
    if (app.get_option_no_throw(f.name) != nullptr)
      throw UserError(fmt::format(
          "program flag '{}' is one of runnel's own flags already: give it another name", f.name));
    f.add(*group);
  }
}

std::optional<int> ProgramFlags::parse(int argc, char** argv, const std::string& description) {
  CLI::App app(description);
  try {
    impl_->register_on(app);
  } catch (const UserError& e) {
    log_error(e.what());
    return 2;
  }
  return parse_command_line(app, argc, argv);
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    log_error(std::string(e.what()) + " (see --help)");
    return 2;
  }
  return std::nullopt;
}

}  // namespace runnel
