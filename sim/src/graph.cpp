// Social graph per platform: age-assortative communities (school classes for
// minors, peer circles for adults), ties to similar-age users, family ties
// between minors and adults, and teachers or coaches tied to a class.
// Built as a list of undirected ties, handed to Boost.Graph's
// compressed_sparse_row_graph, and frozen: the CSR row starts, columns and
// the trusted-tie edge property are moved out into safesim's Graph without a
// copy.
//
// Data layout of the build (docs/performance.md): each tie is stored once, 8
// bytes (two local indices, the trusted flag in the top bit of the second),
// and Boost reads it through a multi-pass iterator that yields both
// directions, (a, b) then (b, a). Boost's histogram sort places edges in a
// row in the order the iterator yields them, so the frozen graph is the one a
// list holding both directions explicitly would give, with a third of the
// memory (8 instead of 18 bytes per tie) and half the bytes read per pass.
//
// Interest groups are a second structure (group -> minors in it, CSR) used by
// the "shared groups" discovery channel.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <boost/graph/compressed_sparse_row_graph.hpp>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

using CsrGraph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, std::uint8_t,
                                                    boost::no_property, std::uint32_t, std::uint32_t>;

constexpr std::uint32_t kTrustedBit = 0x80000000u;

/// Undirected ties, one 8-byte entry each: (a, b | trusted << 31).
struct EdgeList {
  struct Tie {
    std::uint32_t a, b;
  };
  std::vector<Tie> ties;
  void add(std::uint32_t a, std::uint32_t b, bool trusted) {
    if (a == b) return;
    ties.push_back({a, b | (trusted ? kTrustedBit : 0u)});
  }
};

/// Directed edge k of the list: tie k / 2, forwards when k is even.
/// Multi-pass forward iterators, as Boost's unsorted multi-pass CSR
/// constructor requires (it reads the list twice: count, then place).
class DirectedEdgeIt {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = std::pair<std::uint32_t, std::uint32_t>;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = value_type;
  DirectedEdgeIt() = default;
  DirectedEdgeIt(const EdgeList::Tie* t, std::size_t k) : t_(t), k_(k) {}
  value_type operator*() const {
    const EdgeList::Tie& e = t_[k_ >> 1];
    const std::uint32_t b = e.b & ~kTrustedBit;
    return (k_ & 1) == 0 ? value_type{e.a, b} : value_type{b, e.a};
  }
  DirectedEdgeIt& operator++() {
    ++k_;
    return *this;
  }
  DirectedEdgeIt operator++(int) {
    DirectedEdgeIt old = *this;
    ++k_;
    return old;
  }
  bool operator==(const DirectedEdgeIt& o) const { return k_ == o.k_; }
  bool operator!=(const DirectedEdgeIt& o) const { return k_ != o.k_; }

 private:
  const EdgeList::Tie* t_ = nullptr;
  std::size_t k_ = 0;
};

/// The trusted flag of directed edge k (both directions share the tie's flag).
class TrustedIt {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = std::uint8_t;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = value_type;
  explicit TrustedIt(const EdgeList::Tie* t) : t_(t) {}
  value_type operator*() const { return static_cast<std::uint8_t>(t_[k_ >> 1].b >> 31); }
  TrustedIt& operator++() {
    ++k_;
    return *this;
  }
  TrustedIt operator++(int) {
    TrustedIt old = *this;
    ++k_;
    return old;
  }

 private:
  const EdgeList::Tie* t_;
  std::size_t k_ = 0;
};

/// Boost keeps the edge-property vector protected; a pointer to member formed
/// through a derived class reaches it, so the frozen flags are moved out
/// rather than copied edge by edge (50 million edges at platform_1m).
using CsrStructure = decltype(std::declval<CsrGraph&>().m_forward);
struct EdgePropertyAccess : CsrStructure {
  static constexpr auto member() { return &EdgePropertyAccess::m_edge_properties; }
};

}  // namespace

std::vector<std::uint32_t> community_order(std::vector<CommunityKey> keyed) {
  std::sort(keyed.begin(), keyed.end(), [](const CommunityKey& x, const CommunityKey& y) {
    return x.age_draw != y.age_draw ? x.age_draw < y.age_draw : x.member < y.member;
  });
  std::vector<std::uint32_t> order(keyed.size());
  for (std::size_t i = 0; i < keyed.size(); ++i) order[i] = keyed[i].member;
  return order;
}

namespace {

void generate_edges(const State& s, const PlatformState& P, std::size_t p, EdgeList& edges) {
  const GraphSpec& g = s.spec->graph;
  const auto pid = static_cast<std::uint32_t>(p);
  const auto n = static_cast<std::uint32_t>(P.user.size());
  if (n < 2) return;
  // Age-sorted order with random tie-breaks: consecutive chunks are communities.
  std::vector<CommunityKey> keyed(n);
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::uint32_t r = rng::Draw(s.seed, streams::graph_community, P.user[k], pid).u32();
    keyed[k] = community_key(s.pop.age[P.user[k]], r, k);
  }
  const std::vector<std::uint32_t> order = community_order(std::move(keyed));
  std::vector<std::uint32_t> position(n);
  for (std::uint32_t i = 0; i < n; ++i) position[order[i]] = i;
  const auto class_size = static_cast<std::uint32_t>(std::min<std::int64_t>(g.class_size, n));
  const std::uint32_t window = std::max<std::uint32_t>(class_size * 8, n / 50);
  // Peer ties (n x mean_degree / 2) plus family and coach ties, with room
  // for the Poisson spread so the list is not reallocated (and copied) midway.
  edges.ties.reserve(static_cast<std::size_t>(n * (0.5 * g.mean_degree * 1.05 + g.family_adults_per_minor +
                                                   g.coach_share * g.coach_minor_ties)) +
                     1024);
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
  auto groups = std::make_shared<GroupArrays>();
  groups->offsets.assign(count + 1, 0);
  // Two passes over the same keyed draws: count, then fill (counting sort).
  auto each_membership = [&](auto&& f) {
    for (std::uint32_t m : P.minors) {
      rng::Draw d(s.seed, streams::groups, P.user[m], pid);
      const std::uint64_t k = d.poisson(g.groups_per_user);
      for (std::uint64_t j = 0; j < k; ++j) f(d.below(count), m);
    }
  };
  each_membership([&](std::uint32_t grp, std::uint32_t) { ++groups->offsets[grp + 1]; });
  for (std::uint32_t i = 0; i < count; ++i) groups->offsets[i + 1] += groups->offsets[i];
  groups->members.resize(groups->offsets[count]);
  std::vector<std::uint32_t> fill(groups->offsets.begin(), groups->offsets.end() - 1);
  each_membership([&](std::uint32_t grp, std::uint32_t m) { groups->members[fill[grp]++] = m; });
  P.groups = Groups::of(std::move(groups));
}

}  // namespace

void build_graph(State& s, std::size_t p) {
  PlatformState& P = s.platforms[p];
  const auto n = static_cast<std::uint32_t>(P.user.size());
  if (n >= kTrustedBit) throw std::runtime_error("graph: more than 2^31 members on one platform");
  EdgeList edges;
  if (s.spec->graph.edge_list.empty())
    generate_edges(s, P, p, edges);
  else
    load_edge_list(s, P, edges);
  const EdgeList::Tie* t = edges.ties.data();
  CsrGraph csr(boost::edges_are_unsorted_multi_pass, DirectedEdgeIt(t, 0), DirectedEdgeIt(t, 2 * edges.ties.size()),
               TrustedIt(t), n);
  edges = {};
  // Freeze: take the CSR arrays and the edge flags out of the Boost graph without copying.
  auto arrays = std::make_shared<GraphArrays>();
  arrays->offsets = std::move(csr.m_forward.m_rowstart);
  arrays->targets = std::move(csr.m_forward.m_column);
  arrays->trusted = std::move(csr.m_forward.*EdgePropertyAccess::member());
  if (arrays->offsets.empty()) arrays->offsets.assign(n + 1, 0);
  P.graph = Graph::of(std::move(arrays));
  build_groups(s, P, p);
}

}  // namespace safesim::detail
