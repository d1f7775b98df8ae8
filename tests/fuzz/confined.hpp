// Shared by the libFuzzer targets: whether a fuzzed scenario could make the
// loader read a file outside the scenarios folder (through `extends`). Such
// inputs are skipped: the fuzzers test the loader, not the host's files.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace safesim::fuzz {

/// Whether `rel` (an extends value) names a path inside `base` (canonical).
inline bool extends_is_confined(const std::filesystem::path& base, const std::string& rel) {
  namespace fs = std::filesystem;
  if (rel.empty()) return true;  // the loader refuses it without reading anything
  for (const char c : rel)
    if (static_cast<unsigned char>(c) < 0x20) return false;  // NUL would truncate the path
  const fs::path p(rel);
  if (p.is_absolute() || p.has_root_name() || p.has_root_directory()) return false;
  for (const auto& part : p)
    if (part == "..") return false;
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(base / p, ec);
  if (ec) return false;
  const auto [b, t] = std::mismatch(base.begin(), base.end(), target.begin(), target.end());
  return b == base.end();
}

/// False if the input could make the loader read a file outside `base`.
inline bool input_is_confined(const std::filesystem::path& base, const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (...) {
    return true;  // the loader fails to parse it too, before any extends
  }
  if (!root.IsMap()) return true;
  // Every top-level "extends" key, not only the first: the loader looks for
  // the key before it reports duplicates.
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (!it->first.IsScalar() || it->first.Scalar() != "extends") continue;
    if (it->second.IsScalar() && !extends_is_confined(base, it->second.Scalar())) return false;
  }
  return true;
}

/// The canonical scenarios folder of the checkout ($SAFESIM_SOURCE_DIR, else
/// the build's source dir); exits with a message naming `target` without it.
inline std::filesystem::path scenarios_base(const char* target, const char* source_dir) {
  namespace fs = std::filesystem;
  const char* env = std::getenv("SAFESIM_SOURCE_DIR");
  const fs::path root = env && *env ? fs::path(env) : fs::path(source_dir);
  std::error_code ec;
  fs::path base = fs::canonical(root / "scenarios", ec);
  if (ec) {
    std::fprintf(stderr, "%s: no scenarios folder under %s\n", target, root.c_str());
    std::exit(2);
  }
  return base;
}

}  // namespace safesim::fuzz
