// The edge-list reader of graph.edge_list (graph.cpp), on its own so that
// tests/fuzz/fuzz_edge_list.cpp can reach it without building a whole run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace safesim::detail {

/// Reads and checks the edge list at `path` for a population of `users`
/// users, calling `tie(a, b, trusted)` for each tie in file order (a and b
/// the user indices as written, trusted the optional third field). Refuses
/// the file (ScenarioError, one line: FILE:LINE:COL: graph.edge_list:
/// message; file-level problems name `where`, the scenario file) on the
/// first problem in file order: missing, not a regular file, too large, not
/// UTF-8, a malformed line, an index out of range, a self-loop, a duplicate
/// tie, no ties at all. The ties reported before a refusal are to be
/// discarded by the caller.
void read_edge_list(const std::string& path, const std::string& where, std::int64_t users,
                    const std::function<void(std::uint64_t, std::uint64_t, bool)>& tie);

}  // namespace safesim::detail
