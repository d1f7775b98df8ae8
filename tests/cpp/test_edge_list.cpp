// The engine's edge-list loader (sim/src/graph.cpp, load_edge_list) refuses
// every bad file with one line naming the file, line and column, as Python's
// safesim.scenario.check_edge_list does when the scenario loads: the engine
// is the last line of defence for a file changed after that check, or a spec
// built without Python. The message texts are the Python reader's
// (tests/python/test_reliability_corpus.py runs both on the corpus's edge-list
// cases and requires the same line).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "safesim/scenario.hpp"
#include "safesim/simulation.hpp"

using namespace safesim;
namespace fs = std::filesystem;

namespace {

class EdgeList : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("safesim_edges_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    spec_ = default_scenario();
    spec_.population.users = 100;
    spec_.horizon_days = 3;
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Writes `text` as an edge list (a fresh name each time: the structure
  /// cache keys on path, size and time) and returns its path.
  std::string edges(const std::string& text) {
    const fs::path path = dir_ / ("edges" + std::to_string(++files_) + ".txt");
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  /// The one line the run is refused with ("" if it ran).
  std::string refusal(const std::string& path) {
    spec_.graph.edge_list = path;
    try {
      run(spec_, 1);
    } catch (const ScenarioError& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      EXPECT_EQ(e.key_path(), "graph.edge_list");
      return e.what();
    }
    return "";
  }

  fs::path dir_;
  ScenarioSpec spec_;
  int files_ = 0;
};

TEST_F(EdgeList, GoodFileRunsAndDecidesTheGraph) {
  // Comments, blank lines, CRLF, tabs, leading zeros and the trusted flag are accepted.
  EXPECT_EQ(refusal(edges("# a comment\n\n  # indented comment\n0 1\r\n1\t2 1\n007 3 0\n")), "");
  // The same ties written two ways give the same run; other ties another one.
  spec_.population.users = 3000;
  spec_.horizon_days = 60;
  spec_.offenders.share_of_adults = 0.02;
  std::string plain, decorated, other;
  for (int a = 0; a < 3000; ++a) {
    plain += std::to_string(a) + " " + std::to_string((a + 7) % 3000) + (a % 5 == 0 ? " 1\n" : "\n");
    decorated += "# tie " + std::to_string(a) + "\n\t0" + std::to_string(a) + "  " + std::to_string((a + 7) % 3000) +
                 (a % 5 == 0 ? " 1\r\n" : " 0\r\n");
    other += std::to_string(a) + " " + std::to_string((a + 1000) % 3000) + "\n";
  }
  spec_.graph.edge_list = edges(plain);
  const std::uint64_t with_plain = output_hash(run(spec_, 1));
  spec_.graph.edge_list = edges(decorated);
  EXPECT_EQ(output_hash(run(spec_, 1)), with_plain);
  spec_.graph.edge_list = edges(other);
  EXPECT_NE(output_hash(run(spec_, 1)), with_plain);
}

TEST_F(EdgeList, MissingFileNamesTheScenario) {
  spec_.source_file = "scen.yaml";
  const std::string missing = (dir_ / "none.txt").string();
  EXPECT_EQ(refusal(missing), "scen.yaml: graph.edge_list: no such edge list file '" + missing + "'");
}

TEST_F(EdgeList, NotARegularFileIsRefusedWithoutOpeningIt) {
  EXPECT_EQ(refusal(dir_.string()),
            dir_.string() + ": graph.edge_list: edge list '" + dir_.string() + "' is a folder, not a regular file");
  // A FIFO with no writer: opening it for reading would block forever.
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(refusal(fifo.string()),
            fifo.string() + ": graph.edge_list: edge list '" + fifo.string() + "' is a FIFO, not a regular file");
  EXPECT_EQ(refusal("/dev/null"), "/dev/null: graph.edge_list: edge list '/dev/null' is a device, not a regular file");
}

TEST_F(EdgeList, MalformedLinesNameLineAndColumn) {
  const auto expect = [&](const std::string& text, const std::string& where_message) {
    const std::string path = edges(text);
    EXPECT_EQ(refusal(path), path + ":" + where_message) << text;
  };
  expect("0 1\n5\n",
         "2:1: graph.edge_list: expected two user indices and an optional 0/1 trusted flag, got 1 field(s)");
  expect("0 1 1 1\n",
         "1:1: graph.edge_list: expected two user indices and an optional 0/1 trusted flag, got 4 field(s)");
  expect("0 1\n3 -4\n", "2:3: graph.edge_list: '-4': a negative user index (whole numbers 0 to 99)");
  expect("2.5 1\n", "1:1: graph.edge_list: '2.5': a fractional user index (whole numbers 0 to 99)");
  expect("1e2 1\n", "1:1: graph.edge_list: '1e2': a fractional user index (whole numbers 0 to 99)");
  expect("0 1\n  a b\n", "2:3: graph.edge_list: 'a': not a user index (whole numbers 0 to 99)");
  expect("0 \x1b[31m\n", "1:3: graph.edge_list: '\\x1b[31m': not a user index (whole numbers 0 to 99)");
  expect("0 100\n", "1:3: graph.edge_list: user index 100 out of range (the scenario has 100 users: 0 to 99)");
  expect("0 99999999999999999999999\n",
         "1:3: graph.edge_list: user index 99999999999999999999999 out of range (the scenario has 100 users: 0 to "
         "99)");
  expect("0 1 2\n", "1:5: graph.edge_list: '2': the trusted flag is 0 or 1");
  expect("0 1\n4 4\n", "2:1: graph.edge_list: self-loop 4 4: a user cannot be tied to itself");
  expect("0 1\n\xff\xfe 2\n", "2:1: graph.edge_list: not UTF-8 text");
  // Columns count characters, not bytes: the non-breaking space is whitespace, as in Python.
  expect("0\xc2\xa0x\n", "1:3: graph.edge_list: 'x': not a user index (whole numbers 0 to 99)");
}

TEST_F(EdgeList, DuplicatesAreRefusedNamingTheFirst) {
  std::string path = edges("0 1\n2 3\n3 2\n");
  EXPECT_EQ(refusal(path), path + ":3:1: graph.edge_list: duplicate edge 3 2 (first at line 2; ties are undirected)");
  path = edges("5 6\n0 1\n 6 05 1\n0 1\n");
  EXPECT_EQ(refusal(path), path + ":3:2: graph.edge_list: duplicate edge 6 5 (first at line 1; ties are undirected)");
  // The first problem in file order wins: a duplicate above a bad line, a bad line above a duplicate.
  path = edges("0 1\n1 0\nx\n");
  EXPECT_EQ(refusal(path), path + ":2:1: graph.edge_list: duplicate edge 1 0 (first at line 1; ties are undirected)");
  path = edges("0 1\nx y\n1 0\n");
  EXPECT_EQ(refusal(path), path + ":2:1: graph.edge_list: 'x': not a user index (whole numbers 0 to 99)");
}

TEST_F(EdgeList, FileWithoutEdgesIsRefused) {
  for (const std::string text : {"", "# only a comment\n\n"}) {
    const std::string path = edges(text);
    EXPECT_EQ(refusal(path), path + ": graph.edge_list: the edge list has no edges (the graph would be empty)");
  }
}

TEST_F(EdgeList, OverTheSizeLimitIsRefusedBeforeReading) {
  const std::string path = edges("0 1\n");
  fs::resize_file(path, (std::uint64_t{4} << 30) + 1);  // sparse: no disk space used
  EXPECT_EQ(refusal(path),
            path + ": graph.edge_list: edge list '" + path + "' is 4,294,967,297 bytes (limit 4,294,967,296)");
}

}  // namespace
