// safesim: libFuzzer target for the engine's edge-list reader (graph.edge_list).
//
// Each input is the content of an edge-list file: it is written to a file in
// a private temporary folder and read by safesim::detail::read_edge_list
// (sim/src/edge_list.hpp), the reader build_graph uses, for a population of
// kUsers users. Findings:
//   1. anything but ScenarioError escaping the reader, a crash, a sanitizer
//      report, a hang or running out of memory;
//   2. a refusal that is not one line naming graph.edge_list;
//   3. a file that is accepted although a tie in it is out of range, a
//      self-loop or a duplicate (either order), or that has no ties;
//   4. a tie lost or invented: an accepted file has exactly one tie per line
//      that holds something other than whitespace and does not start with '#'
//      (lines counted here independently of the reader; an input with a line
//      whose first non-blank byte is not ASCII, which may be a Unicode space
//      the reader skips, is not counted).
// At exit the harness prints how many inputs were accepted.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <set>
#include <string>
#include <utility>

#include "edge_list.hpp"
#include "safesim/scenario.hpp"

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kUsers = 1000;
std::string g_dir;   // private temporary folder
std::string g_path;  // the input's file in it
unsigned long long g_accepted = 0;

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n==fuzz_edge_list== FINDING: %s\n%s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

constexpr std::size_t kUncounted = static_cast<std::size_t>(-1);

/// Lines that must each hold one tie in an accepted file: not blank in ASCII
/// whitespace and not starting (after ASCII whitespace) with '#'; kUncounted
/// if a line's first non-blank byte is not ASCII.
std::size_t tie_lines(const std::string& text) {
  std::size_t count = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::size_t i = pos;
    while (i < end && (text[i] == ' ' || (text[i] >= '\t' && text[i] <= '\r') ||
                       (static_cast<unsigned char>(text[i]) >= 0x1c && static_cast<unsigned char>(text[i]) <= 0x1f)))
      ++i;
    if (i < end && static_cast<unsigned char>(text[i]) >= 0x80) return kUncounted;
    if (i < end && text[i] != '#') ++count;
    pos = end + 1;
  }
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/safesim-fuzz-edges.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("fuzz_edge_list: mkdtemp");
    std::exit(2);
  }
  g_dir = tmpl;
  g_path = g_dir + "/edges.txt";
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(g_dir, ec);
    std::fprintf(stderr, "fuzz_edge_list: %llu input(s) accepted\n", g_accepted);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  {
    std::FILE* f = std::fopen(g_path.c_str(), "wb");
    if (f == nullptr || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0)
      finding("cannot write the input file", g_path);
  }
  std::set<std::pair<std::uint64_t, std::uint64_t>> seen;
  std::string problem;
  std::size_t ties = 0;
  try {
    safesim::detail::read_edge_list(g_path, "fuzz-input.yaml", kUsers, [&](std::uint64_t a, std::uint64_t b, bool) {
      ++ties;
      if (!problem.empty()) return;
      if (a >= static_cast<std::uint64_t>(kUsers) || b >= static_cast<std::uint64_t>(kUsers))
        problem = "a tie out of range: " + std::to_string(a) + " " + std::to_string(b);
      else if (a == b)
        problem = "a self-loop: " + std::to_string(a);
      else if (!seen.emplace(std::min(a, b), std::max(a, b)).second)
        problem = "a duplicate tie: " + std::to_string(a) + " " + std::to_string(b);
    });
  } catch (const safesim::ScenarioError& e) {
    const std::string what = e.what();
    if (what.find('\n') != std::string::npos || what.find("graph.edge_list") == std::string::npos)
      finding("a refusal that is not one line naming graph.edge_list", what);
    return 0;
  } catch (const std::exception& e) {
    finding("non-ScenarioError exception escaped read_edge_list", e.what());
  } catch (...) {
    finding("unknown exception escaped read_edge_list", "");
  }
  ++g_accepted;
  if (!problem.empty()) finding("an accepted file with", problem);
  if (ties == 0) finding("an accepted file without ties", text.substr(0, 200));
  const std::size_t lines = tie_lines(text);
  if (lines != kUncounted && ties != lines)
    finding("ties lost or invented", std::to_string(ties) + " tie(s) for " + std::to_string(lines) + " tie line(s)");
  return 0;
}
