// Helpers shared by the C++ tests that read scenario files and compare dumps.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace safesim::test {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A dump without its leading comment lines (source file and policies differ
/// between a scenario and its reloaded dump; everything else must not).
inline std::string body(const std::string& dump) {
  std::istringstream in(dump);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("#", 0) != 0) out += line + "\n";
  return out;
}

}  // namespace safesim::test
