// safesim: loading and validating scenario files (implemented in the only
// translation unit that includes yaml-cpp, sim/src/scenario_yaml.cpp).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "safesim/spec.hpp"

namespace safesim {

/// A scenario input error. what() is one line:
///   "FILE:LINE:COL: KEY.PATH: message (did you mean 'x'?)"
class ScenarioError : public std::runtime_error {
 public:
  ScenarioError(std::string file, int line, int column, std::string key_path, std::string message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }      ///< 1-based, 0 if unknown
  int column() const { return column_; }  ///< 1-based, 0 if unknown
  const std::string& key_path() const { return key_path_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_;
  int column_;
  std::string key_path_;
  std::string message_;
};

struct LoadOptions {
  /// Folders searched for policy bundles `NAME.yaml` after the scenario's own
  /// `policies/` folder (the installed scenarios folder comes last).
  std::vector<std::string> policy_dirs;
  /// Overrides applied after the file, in order: ("key.path", "yaml value").
  std::vector<std::pair<std::string, std::string>> overrides;
  /// Policy bundles applied after the overrides, in order.
  std::vector<std::string> extra_policies;
};

/// Load, resolve (extends, policies, overrides) and validate a scenario file.
ScenarioSpec load_scenario(const std::string& path, const LoadOptions& options = {});

/// Same, from YAML text (`name` is used in error messages and to resolve
/// relative paths; its folder is the base for `extends:`).
ScenarioSpec load_scenario_text(const std::string& text, const std::string& name, const LoadOptions& options = {});

/// The resolved scenario as YAML (every field, defaults included), for
/// provenance and for Python's Scenario.to_dict(). Loading it back gives an
/// equal spec.
std::string dump_scenario(const ScenarioSpec& spec);

/// The parameter dictionary as a Markdown document (scenarios/README.md).
std::string parameter_dictionary_markdown();

/// One scenario key of the parameter dictionary, as data: its key path (a
/// platform key as `platforms.<name>.…`), kind name (`prob`, `count`, ...),
/// unit, and the bounds a value must lie in (the kind's own, narrowed by the
/// key's; infinite where unbounded, both infinite for non-numeric kinds).
struct ParameterInfo {
  std::string key, kind, unit;
  double lo = 0, hi = 0;
};

/// Every key of the parameter dictionary, in its order.
std::vector<ParameterInfo> parameter_table();

}  // namespace safesim
