// Social graph per platform: age-assortative communities (school classes for
// minors, peer circles for adults), ties to similar-age users, family ties
// between minors and adults, and teachers or coaches tied to a class.
// Built as an edge list, handed to Boost.Graph's compressed_sparse_row_graph
// (which sorts it by source), and frozen: the CSR row starts and columns are
// moved out into safesim's Graph without a copy; the trusted-tie flag is an
// edge property copied into a parallel array.
//
// Interest groups are a second structure (group -> minors in it, CSR) used by
// the "shared groups" discovery channel.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/range/iterator_range.hpp>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

struct EdgeTrust {
  std::uint8_t trusted = 0;
};
using CsrGraph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, EdgeTrust, boost::no_property,
                                                    std::uint32_t, std::uint32_t>;

struct EdgeList {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> ends;  // both directions
  std::vector<EdgeTrust> trust;
  void add(std::uint32_t a, std::uint32_t b, bool trusted) {
    if (a == b) return;
    ends.emplace_back(a, b);
    ends.emplace_back(b, a);
    trust.push_back({static_cast<std::uint8_t>(trusted)});
    trust.push_back({static_cast<std::uint8_t>(trusted)});
  }
};

void generate_edges(const State& s, const PlatformState& P, std::size_t p, EdgeList& edges) {
  const GraphSpec& g = s.spec->graph;
  const auto pid = static_cast<std::uint32_t>(p);
  const auto n = static_cast<std::uint32_t>(P.user.size());
  if (n < 2) return;
  // Age-sorted order with random tie-breaks: consecutive chunks are communities.
  std::vector<std::uint64_t> keyed(n);
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::uint32_t r = rng::Draw(s.seed, streams::graph_community, P.user[k], pid).u32();
    keyed[k] = (static_cast<std::uint64_t>(s.pop.age[P.user[k]]) << 56) | (static_cast<std::uint64_t>(r) << 24) | k;
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::uint32_t> order(n), position(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    order[i] = static_cast<std::uint32_t>(keyed[i] & 0xFFFFFFu);
    position[order[i]] = i;
  }
  keyed = {};
  const auto class_size = static_cast<std::uint32_t>(std::min<std::int64_t>(g.class_size, n));
  const std::uint32_t window = std::max<std::uint32_t>(class_size * 8, n / 50);
  edges.ends.reserve(static_cast<std::size_t>(n * g.mean_degree * 1.1) + 16);
  edges.trust.reserve(edges.ends.capacity());
  // Peer ties: each user starts mean_degree / 2 ties, so the mean degree is mean_degree.
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t v = order[i];
    rng::Draw d(s.seed, streams::graph_peer, P.user[v], pid);
    const std::uint64_t k = d.poisson(0.5 * g.mean_degree * s.pop.activity[P.user[v]]);
    const std::uint32_t chunk = i / class_size * class_size;
    const std::uint32_t chunk_len = std::min(class_size, n - chunk);
    for (std::uint64_t j = 0; j < k; ++j) {
      std::uint32_t pos;
      if (d.uniform() < g.community_share) {
        pos = chunk + d.below(chunk_len);
      } else {
        const std::int64_t off = static_cast<std::int64_t>(d.below(2 * window + 1)) - window;
        pos = static_cast<std::uint32_t>(std::clamp<std::int64_t>(static_cast<std::int64_t>(i) + off, 0, n - 1));
      }
      edges.add(v, order[pos], false);
    }
  }
  // Family ties: adults aged 25-60 stand for parents, aunts and uncles.
  std::vector<std::uint32_t> parent_age;
  for (std::uint32_t k = 0; k < n; ++k) {
    const int a = s.pop.age[P.user[k]];
    if (a >= 25 && a <= 60) parent_age.push_back(k);
  }
  if (!parent_age.empty()) {
    for (std::uint32_t m : P.minors) {
      rng::Draw d(s.seed, streams::graph_family, P.user[m], pid);
      const std::uint64_t f = d.poisson(g.family_adults_per_minor);
      for (std::uint64_t j = 0; j < f; ++j)
        edges.add(m, parent_age[d.below(static_cast<std::uint32_t>(parent_age.size()))], true);
    }
  }
  // Teachers and coaches: tied to minors of one class.
  if (!P.minors.empty()) {
    for (std::uint32_t k = 0; k < n; ++k) {
      if (s.pop.age[P.user[k]] < 21) continue;
      rng::Draw d(s.seed, streams::graph_coach, P.user[k], pid);
      if (d.uniform() >= g.coach_share) continue;
      const std::uint32_t seed_minor = P.minors[d.below(static_cast<std::uint32_t>(P.minors.size()))];
      const std::uint32_t i = position[seed_minor];
      const std::uint32_t chunk = i / class_size * class_size;
      const std::uint32_t chunk_len = std::min(class_size, n - chunk);
      const std::uint64_t ties = d.poisson(g.coach_minor_ties);
      for (std::uint64_t j = 0; j < ties; ++j) {
        const std::uint32_t m = order[chunk + d.below(chunk_len)];
        if (s.pop.age[P.user[m]] < 18) edges.add(k, m, true);
      }
    }
  }
}

void load_edge_list(const State& s, const PlatformState& P, EdgeList& edges) {
  const std::string& path = s.spec->graph.edge_list;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("graph.edge_list: cannot open edge list '" + path + "'");
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::uint64_t a = 0, b = 0;
    int trusted = 0;
    if (!(ls >> a >> b))
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": graph.edge_list: expected two user indices");
    ls >> trusted;
    if (a >= P.local_of.size() || b >= P.local_of.size())
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": graph.edge_list: user index out of range (" +
                               std::to_string(P.local_of.size()) + " users)");
    const std::uint32_t la = P.local_of[a], lb = P.local_of[b];
    if (la == kNone || lb == kNone) continue;  // not both on this platform
    edges.add(la, lb, trusted != 0);
  }
}

void build_groups(const State& s, PlatformState& P, std::size_t p) {
  const GraphSpec& g = s.spec->graph;
  const auto pid = static_cast<std::uint32_t>(p);
  const double expected = static_cast<double>(P.user.size()) * g.groups_per_user / static_cast<double>(g.group_size);
  const auto count = static_cast<std::uint32_t>(std::max(1.0, std::round(expected)));
  P.groups.offsets.assign(count + 1, 0);
  // Two passes over the same keyed draws: count, then fill (counting sort).
  auto each_membership = [&](auto&& f) {
    for (std::uint32_t m : P.minors) {
      rng::Draw d(s.seed, streams::groups, P.user[m], pid);
      const std::uint64_t k = d.poisson(g.groups_per_user);
      for (std::uint64_t j = 0; j < k; ++j) f(d.below(count), m);
    }
  };
  each_membership([&](std::uint32_t grp, std::uint32_t) { ++P.groups.offsets[grp + 1]; });
  for (std::uint32_t i = 0; i < count; ++i) P.groups.offsets[i + 1] += P.groups.offsets[i];
  P.groups.members.resize(P.groups.offsets[count]);
  std::vector<std::uint32_t> fill(P.groups.offsets.begin(), P.groups.offsets.end() - 1);
  each_membership([&](std::uint32_t grp, std::uint32_t m) { P.groups.members[fill[grp]++] = m; });
}

}  // namespace

void build_graph(State& s, std::size_t p) {
  PlatformState& P = s.platforms[p];
  EdgeList edges;
  if (s.spec->graph.edge_list.empty())
    generate_edges(s, P, p, edges);
  else
    load_edge_list(s, P, edges);
  const auto n = static_cast<std::uint32_t>(P.user.size());
  CsrGraph csr(boost::edges_are_unsorted_multi_pass, edges.ends.begin(), edges.ends.end(), edges.trust.begin(), n);
  edges = {};
  P.graph.trusted.resize(boost::num_edges(csr));
  for (auto e : boost::make_iterator_range(boost::edges(csr)))
    P.graph.trusted[boost::get(boost::edge_index, csr, e)] = csr[e].trusted;
  // Freeze: take the CSR arrays out of the Boost graph without copying.
  P.graph.offsets = std::move(csr.m_forward.m_rowstart);
  P.graph.targets = std::move(csr.m_forward.m_column);
  if (P.graph.offsets.empty()) P.graph.offsets.assign(n + 1, 0);
  build_groups(s, P, p);
}

}  // namespace safesim::detail
