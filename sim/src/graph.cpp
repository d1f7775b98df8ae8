// Social graph per platform: age-assortative communities (school classes for
// minors, peer circles for adults), ties to similar-age users, family ties
// between minors and adults, and teachers or coaches tied to a class.
// Generated as lists of undirected ties, then frozen into a compressed sparse
// row (CSR) graph over local member indices.
//
// The frozen graph is canonical: each row holds its distinct targets in
// ascending order, a pair drawn more than once (by both members, or by a peer
// draw and a family or coach tie) held once and trusted if any of its draws
// was. It therefore depends only on the set of ties drawn, never on the order
// they were drawn or placed in, and every tie is drawn from keyed random
// numbers (user, platform): so the build can be split across threads (blocks
// of members within a platform, platforms side by side) and gives the same
// graph, bit for bit, at any thread count.
//
// The build (docs/performance.md, "National-size ecosystems"):
//   1. community order: members sorted by (age, keyed draw, index); ages are
//      bucketed first (indices ascending in each) and the buckets radix-sorted
//      by the draw in parallel;
//   2. ties generated in blocks of community positions (and of minors, for
//      family ties, and of members, for coaches), one list per block, each
//      tie 8 bytes (two local indices, the trusted flag in the top bit); the
//      thread that generates a block also counts its ties into the degrees;
//   3. row starts from the degrees; every tie scattered into its two rows,
//      packed as target << 1 | trusted, then the lists freed;
//   4. the rows put in order: long rows (stored peer ties) by scattering the
//      graph again, transposed (each row then receives its targets in
//      ascending order), short ones (graph.on_demand's family and coach ties)
//      by sorting each where it lies; repeats merged and the rows compacted
//      in place, the trusted flags split off;
//   5. the canonical rows handed to Boost.Graph's compressed_sparse_row_graph
//      (its sorted-edge constructor: one pass, no sort), whose arrays the
//      engine's Graph view reads; one platform at a time holds both copies.
// The peak of one platform's build is its list plus its packed rows (8 bytes
// per directed edge), and platforms are built largest first, so the peak of
// a whole ecosystem is its frozen graphs plus the smallest platforms' lists.
//
// Interest groups are a second structure (group -> minors in it, CSR) used by
// the "shared groups" discovery channel.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/graph/compressed_sparse_row_graph.hpp>

#include "edge_list.hpp"
#include "parallel.hpp"
#include "radix_sort.hpp"
#include "safesim/rng.hpp"
#include "safesim/scenario.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

constexpr std::uint32_t kTrustedBit = 0x80000000u;

/// Community positions (or minors, or members) per block of tie generation.
constexpr std::uint32_t kBlock = 16384;
/// Platforms with at least this many members are built one at a time, each
/// on every build thread; smaller ones side by side, one thread each.
constexpr std::uint32_t kSplitMembers = 4 * kBlock;
/// graph.on_demand: at most this many rounds of partner classes (the pair
/// stream's slot holds platform x 128 + round, 127 for ties within a class).
constexpr std::uint32_t kMaxRounds = 120;
/// freeze: rows of at most this many directed edges per member on average are
/// sorted in place; longer ones (stored peer ties, about 50 a member) are
/// ordered by a second scatter, which does not mispredict as their sort does.
constexpr std::uint32_t kSortRowsBelowDegree = 8;

/// Undirected ties, one 8-byte entry each: (a, b | trusted << 31).
struct Tie {
  std::uint32_t a, b;
};
using TieList = std::vector<Tie>;
inline void add_tie(TieList& ties, std::uint32_t a, std::uint32_t b, bool trusted) {
  if (a == b) return;
  ties.push_back({a, b | (trusted ? kTrustedBit : 0u)});
}

/// Row ranges [bound[t], bound[t + 1]) of about equal entry counts, one per
/// part: each thread of a scatter owns the rows of one range, reads every
/// entry and writes those of its rows, so no two threads write one row.
std::vector<std::uint32_t> row_ranges(const std::vector<std::uint32_t>& start, std::size_t parts) {
  const std::uint32_t n = static_cast<std::uint32_t>(start.size() - 1);
  std::vector<std::uint32_t> bound(parts + 1, n);
  bound[0] = 0;
  for (std::size_t t = 1; t < parts; ++t)
    bound[t] = static_cast<std::uint32_t>(
        std::lower_bound(start.begin(), start.end(), static_cast<std::uint64_t>(start[n]) * t / parts) - start.begin());
  return bound;
}

/// Appends x to row r of `out` if r is in [lo, lo + span), without a branch
/// (half the entries fall outside a thread's range when two threads share a
/// scatter, at random: a branch would mispredict on each of them).
struct RangeScatter {
  std::uint32_t lo, span;
  std::uint32_t* cursor;
  std::uint32_t* out;
  std::uint32_t spare_cursor = 0, spare_slot = 0;
  void put(std::uint32_t r, std::uint32_t x) {
    const bool in = r - lo < span;
    std::uint32_t* c = in ? cursor + r : &spare_cursor;
    std::uint32_t* slot = in ? out + *c : &spare_slot;
    *slot = x;
    *c += in ? 1u : 0u;
  }
};

/// Freezes tie lists into the canonical CSR graph over n members (see the
/// top of the file), freeing the lists once their ties are placed. `degree`
/// holds each member's tie count over all lists (repeats included) and is
/// used up. Each tie is scattered into its two rows in list order (`rows`).
/// Long rows are then put in order by a second scatter, as in a two-pass
/// radix sort: that graph transposed in order of the source row (`sorted`);
/// the graph is symmetric, so the transpose is the same graph, and each of
/// its rows receives its targets in ascending order, repeats side by side.
/// Short rows (below kSortRowsBelowDegree a member on average) are sorted
/// where they lie.
///
/// The frozen graph's type: Boost.Graph's compressed sparse row graph over
/// local member indices (the trusted flags are kept beside it, one bit per
/// directed edge: GraphArrays).
using CsrGraph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, boost::no_property,
                                                    boost::no_property, std::uint32_t, std::uint32_t>;

/// Directed edges of canonical rows, row by row: the sorted-edge input of
/// Boost's CSR constructor.
class RowEdgeIt {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = std::pair<std::uint32_t, std::uint32_t>;
  using difference_type = std::ptrdiff_t;
  using pointer = const value_type*;
  using reference = const value_type&;
  RowEdgeIt(const GraphArrays& g, std::uint32_t e) : g_(&g), e_(e) { settle(); }
  reference operator*() const { return cur_; }
  pointer operator->() const { return &cur_; }
  RowEdgeIt& operator++() {
    ++e_;
    settle();
    return *this;
  }
  RowEdgeIt operator++(int) {
    RowEdgeIt old = *this;
    ++*this;
    return old;
  }
  bool operator==(const RowEdgeIt& o) const { return e_ == o.e_; }
  bool operator!=(const RowEdgeIt& o) const { return e_ != o.e_; }

 private:
  void settle() {  // the row of entry e_ (rows may be empty)
    const std::size_t n = g_->offsets.size() - 1;
    while (v_ < n && g_->offsets[v_ + 1] <= e_) ++v_;
    if (e_ < g_->targets.size()) cur_ = {v_, g_->targets[e_]};
  }
  const GraphArrays* g_;
  std::uint32_t e_;
  std::uint32_t v_ = 0;
  value_type cur_{0, 0};
};

/// The canonical rows frozen as a Boost.Graph CSR graph (sorted-edge
/// constructor: one pass, no sort), whose row starts and targets the engine's
/// Graph view then reads. Boost's row starts must equal the rows' offsets: a
/// check that the rows really are sorted by source. The trusted flags stay
/// beside it, one bit per directed edge (GraphArrays).
void freeze_with_boost(GraphArrays& g) {
  const auto n = static_cast<std::uint32_t>(g.offsets.size() - 1);
  const std::uint32_t total = g.offsets[n];
  CsrGraph csr(boost::edges_are_sorted, RowEdgeIt(g, 0), RowEdgeIt(g, total), n, total);
  if (csr.m_forward.m_rowstart != g.offsets)
    throw std::logic_error("graph: Boost's CSR row starts differ from the canonical rows");
  std::vector<std::uint32_t>().swap(g.targets);  // Boost holds its own copy of the targets now
  g.offsets = std::move(csr.m_forward.m_rowstart);
  g.targets = std::move(csr.m_forward.m_column);
}

std::shared_ptr<GraphArrays> freeze(std::vector<TieList>& lists, std::vector<std::uint32_t>& degree, std::uint32_t n,
                                    int threads) {
  std::vector<std::uint32_t> start(static_cast<std::size_t>(n) + 1);
  std::uint64_t total = 0;
  for (std::uint32_t v = 0; v < n; ++v) {
    start[v] = static_cast<std::uint32_t>(total);
    total += degree[v];
    if (total > UINT32_MAX) throw std::runtime_error("graph: more than 2^32 - 1 directed edges on one platform");
  }
  start[n] = static_cast<std::uint32_t>(total);
  const std::size_t parts = std::min<std::size_t>(static_cast<std::size_t>(std::max(threads, 1)), std::max(n, 1u));
  const std::vector<std::uint32_t> bound = row_ranges(start, parts);
  // Entries are packed as target << 1 | trusted (n < 2^31).
  std::vector<std::uint32_t>& cursor = degree;
  std::copy(start.begin(), start.end() - 1, cursor.begin());
  std::vector<std::uint32_t> rows(total);
  parallel_for(parts, threads, [&](std::size_t t, std::size_t) {
    RangeScatter out{bound[t], bound[t + 1] - bound[t], cursor.data(), rows.data()};
    for (const TieList& list : lists)
      for (const Tie& e : list) {
        const std::uint32_t trusted = e.b >> 31, other = e.b & ~kTrustedBit;
        out.put(e.a, other << 1 | trusted);
        out.put(other, e.a << 1 | trusted);
      }
  });
  std::vector<TieList>().swap(lists);
  std::vector<std::uint32_t> sorted;
  const std::size_t row_blocks = (static_cast<std::size_t>(n) + kBlock - 1) / kBlock;
  if (total <= static_cast<std::uint64_t>(kSortRowsBelowDegree) * n) {
    // Short rows (graph.on_demand's family and coach ties: about one per
    // member): each sorted where it lies, one sequential pass, instead of a
    // second scatter's two random writes per entry.
    parallel_for(row_blocks, threads, [&](std::size_t rb, std::size_t) {
      const std::uint32_t v1 = static_cast<std::uint32_t>(std::min<std::size_t>(n, (rb + 1) * kBlock));
      for (auto v = static_cast<std::uint32_t>(rb * kBlock); v < v1; ++v) {
        std::uint32_t* row = rows.data() + start[v];
        const std::uint32_t len = start[v + 1] - start[v];
        if (len > 16) {
          std::sort(row, row + len);
          continue;
        }
        for (std::uint32_t i = 1; i < len; ++i)  // insertion sort
          for (std::uint32_t j = i; j > 0 && row[j - 1] > row[j]; --j) std::swap(row[j - 1], row[j]);
      }
    });
    sorted = std::move(rows);
  } else {
    std::copy(start.begin(), start.end() - 1, cursor.begin());
    sorted.resize(total);
    parallel_for(parts, threads, [&](std::size_t t, std::size_t) {
      RangeScatter out{bound[t], bound[t + 1] - bound[t], cursor.data(), sorted.data()};
      for (std::uint32_t v = 0; v < n; ++v)
        for (std::uint32_t e = start[v]; e < start[v + 1]; ++e) out.put(rows[e] >> 1, v << 1 | (rows[e] & 1u));
    });
    std::vector<std::uint32_t>().swap(rows);
  }
  // Repeats of a pair are now side by side in its rows: merged (one tie,
  // trusted if any draw was) as the rows are compacted, the flags split off.
  // `cursor` becomes each row's distinct count.
  parallel_for(row_blocks, threads, [&](std::size_t rb, std::size_t) {
    const std::uint32_t v1 = static_cast<std::uint32_t>(std::min<std::size_t>(n, (rb + 1) * kBlock));
    for (auto v = static_cast<std::uint32_t>(rb * kBlock); v < v1; ++v) {
      std::uint32_t d = 0;
      for (std::uint32_t e = start[v]; e < start[v + 1]; ++e)
        d += e == start[v] || (sorted[e] >> 1) != (sorted[e - 1] >> 1) ? 1u : 0u;
      cursor[v] = d;
    }
  });
  auto g = std::make_shared<GraphArrays>();
  g->offsets.resize(static_cast<std::size_t>(n) + 1);
  std::uint32_t distinct = 0;
  for (std::uint32_t v = 0; v < n; ++v) {
    g->offsets[v] = distinct;
    distinct += cursor[v];
  }
  g->offsets[n] = distinct;
  // In place, so the build never holds a second copy of the targets: each
  // thread compacts its range's rows to the front of the range's own entries
  // (a row only moves towards the front), then the ranges move down to their
  // final places, in order.
  parallel_for(parts, threads, [&](std::size_t t, std::size_t) {
    std::uint32_t w = start[bound[t]];
    for (std::uint32_t v = bound[t]; v < bound[t + 1]; ++v) {
      std::uint32_t prev = 0;
      for (std::uint32_t e = start[v]; e < start[v + 1]; ++e) {
        const std::uint32_t x = sorted[e];
        if (e > start[v] && (x >> 1) == (prev >> 1)) {
          sorted[w - 1] |= x & 1u;  // a repeat: trusted if any of its draws was
          continue;
        }
        prev = x;
        sorted[w++] = x;  // still packed: the flags are split off below
      }
    }
  });
  for (std::size_t t = 0; t < parts; ++t) {
    const std::size_t count = g->offsets[bound[t + 1]] - g->offsets[bound[t]];
    // Not with 0: a platform without ties (or members) has no entries at all,
    // and memmove must not be handed the empty vector's null pointer.
    if (count > 0)
      std::memmove(sorted.data() + g->offsets[bound[t]], sorted.data() + start[bound[t]],
                   sizeof(std::uint32_t) * count);
  }
  sorted.resize(distinct);
  // The flags split off into one bit per edge, in blocks of whole 64-bit
  // words so that no two threads write one word.
  g->trusted.assign((static_cast<std::size_t>(distinct) + 63) / 64, 0);
  const std::size_t flag_blocks = (g->trusted.size() + kBlock / 64 - 1) / (kBlock / 64);
  parallel_for(flag_blocks, threads, [&](std::size_t b, std::size_t) {
    const std::size_t e1 = std::min<std::size_t>(distinct, (b + 1) * kBlock);
    for (std::size_t e = b * kBlock; e < e1; ++e) {
      g->trusted[e / 64] |= static_cast<std::uint64_t>(sorted[e] & 1u) << (e % 64);
      sorted[e] >>= 1;
    }
  });
  g->targets = std::move(sorted);
  freeze_with_boost(*g);
  return g;
}

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

/// community_order on several threads: keys bucketed by age (the leading
/// part of the key), each bucket sorted on its own. Same order.
std::vector<std::uint32_t> community_order_parallel(const State& s, const PlatformState& P, std::size_t p,
                                                    int threads) {
  const auto pid = static_cast<std::uint32_t>(p);
  const auto n = static_cast<std::uint32_t>(P.user.size());
  // Members bucketed by age, in ascending member order within each bucket: a
  // counting sort over blocks of members, each block counting and then
  // placing its own members from its own offsets (the blocks' counts added up
  // in block order), so the placement is the one-thread one.
  const std::size_t blocks = (static_cast<std::size_t>(n) + kBlock - 1) / kBlock;
  std::vector<std::uint32_t> counts(blocks * 256, 0);
  parallel_for(blocks, threads, [&](std::size_t b, std::size_t) {
    std::uint32_t* c = counts.data() + b * 256;
    const std::size_t k1 = std::min<std::size_t>(n, (b + 1) * kBlock);
    for (std::size_t k = b * kBlock; k < k1; ++k) ++c[s.pop.age[P.user[k]]];
  });
  std::vector<std::uint32_t> start(257, 0);
  for (std::size_t a = 0; a < 256; ++a) {
    std::uint32_t at = start[a];
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::uint32_t c = counts[b * 256 + a];
      counts[b * 256 + a] = at;  // now where block b's members of age a go
      at += c;
    }
    start[a + 1] = at;
  }
  // Within an age bucket the key is (draw, member): packed into one 64-bit
  // word, draw high, it sorts as a plain integer, in half the memory of a
  // CommunityKey and without the two-field comparison.
  std::vector<std::uint64_t> keyed(n);
  parallel_for(blocks, threads, [&](std::size_t b, std::size_t) {
    std::uint32_t* fill = counts.data() + b * 256;
    const std::size_t k1 = std::min<std::size_t>(n, (b + 1) * kBlock);
    for (std::size_t k = b * kBlock; k < k1; ++k) {
      const std::uint32_t user = P.user[k];
      const std::uint32_t r = rng::Draw(s.seed, streams::graph_community, user, pid).u32();
      keyed[fill[s.pop.age[user]]++] = (static_cast<std::uint64_t>(r) << 32) | static_cast<std::uint32_t>(k);
    }
  });
  // Largest buckets first, so one long sort does not start last.
  std::vector<std::uint32_t> ages(256);
  std::iota(ages.begin(), ages.end(), 0u);
  std::stable_sort(ages.begin(), ages.end(),
                   [&](std::uint32_t x, std::uint32_t y) { return start[x + 1] - start[x] > start[y + 1] - start[y]; });
  std::vector<std::uint32_t> order(n);
  std::vector<std::uint64_t> scratch(n);  // each bucket sorts through its own range
  parallel_for(ages.size(), threads, [&](std::size_t j, std::size_t) {
    const std::uint32_t a = ages[j];
    // Within a bucket the keys were placed in ascending index order (above),
    // so sort_keys radix-sorts them by the draw.
    sort_keys(keyed.data() + start[a], start[a + 1] - start[a], scratch.data() + start[a]);
    for (std::uint32_t i = start[a]; i < start[a + 1]; ++i) order[i] = static_cast<std::uint32_t>(keyed[i]);
  });
  return order;
}

/// The peer ties' shape on a platform of n members (both representations):
/// classes of class_size consecutive community positions, tied within with
/// probability q; c_out expected ties outside the class, within `window`
/// community positions.
struct PeerShape {
  std::uint32_t class_size, window;
  double q, c_out;
};
PeerShape peer_shape(const GraphSpec& g, std::uint32_t n) {
  PeerShape r{};
  r.class_size = static_cast<std::uint32_t>(std::max<std::int64_t>(1, std::min<std::int64_t>(g.class_size, n)));
  r.window = std::max<std::uint32_t>(r.class_size * 8, n / 50);
  const double c_in = g.community_share * g.mean_degree;
  r.q = r.class_size > 1 ? std::min(1.0, c_in / static_cast<double>(r.class_size - 1)) : 0.0;
  r.c_out = std::max(0.0, g.mean_degree - r.q * static_cast<double>(r.class_size - 1));
  return r;
}

/// Generates a platform's ties into lists, one per block of work, and counts
/// them into `degree` (n entries, zero on entry; each thread counts into an
/// array of its own, added up at the end).
std::vector<TieList> generate_edges(const State& s, const PlatformState& P, std::size_t p,
                                    const std::vector<std::uint32_t>& order, bool peers,
                                    std::vector<std::uint32_t>& degree, int threads) {
  const GraphSpec& g = s.spec->graph;
  const auto pid = static_cast<std::uint32_t>(p);
  const auto n = static_cast<std::uint32_t>(P.user.size());
  if (n < 2) return {};
  const PeerShape shape = peer_shape(g, n);
  const std::uint32_t class_size = shape.class_size, window = shape.window;
  const double q = shape.q, c_out = shape.c_out;
  // Peer ties, held once per pair (duplicates are merged in freeze()), so
  // mean_degree counts distinct contacts. Within a community every pair is
  // tied with probability q = community_share x mean_degree /
  // (class_size - 1): a member's expected distinct ties inside the class are
  // community_share x mean_degree, capped at class_size - 1 (a small class is
  // complete). The rest of mean_degree are ties outside the class, to members
  // in the age window, each user starting a Poisson number of them in
  // proportion to their activity (the spread of degrees comes from these).
  // Blocks: community positions, then minors (family ties), then members (coaches).
  const std::size_t peer_blocks = peers ? (static_cast<std::size_t>(n) + kBlock - 1) / kBlock : 0;
  const std::size_t family_blocks = (P.minors.size() + kBlock - 1) / kBlock;
  const std::size_t coach_blocks = P.minors.empty() ? 0 : (static_cast<std::size_t>(n) + kBlock - 1) / kBlock;
  std::vector<TieList> lists(peer_blocks + family_blocks + coach_blocks);
  // Family ties: adults aged 25-60 stand for parents, aunts and uncles.
  std::vector<std::uint32_t> parent_age;
  for (std::uint32_t k = 0; k < n; ++k) {
    const int a = s.pop.age[P.user[k]];
    if (a >= 25 && a <= 60) parent_age.push_back(k);
  }
  std::vector<std::uint32_t> position;
  std::uint32_t minors_end = 0;  // community positions below it hold minors: `order` is sorted by age
  if (coach_blocks > 0) {
    position.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) position[order[i]] = i;
    minors_end = static_cast<std::uint32_t>(
        std::partition_point(order.begin(), order.end(), [&](std::uint32_t m) { return s.pop.age[P.user[m]] < 18; }) -
        order.begin());
  }
  // Lists reserved here, for their expected ties with room for the spread,
  // rather than grown by the worker threads: glibc gives each thread its own
  // arena, and memory freed in one is not reused by another.
  for (std::size_t b = 0; b < lists.size(); ++b) {
    double expected = 0;
    if (b < peer_blocks)
      expected = static_cast<double>(std::min<std::size_t>(kBlock, n - b * kBlock)) * 0.5 * g.mean_degree * 1.05;
    else if (b < peer_blocks + family_blocks)
      expected = static_cast<double>(std::min<std::size_t>(kBlock, P.minors.size() - (b - peer_blocks) * kBlock)) *
                 g.family_adults_per_minor * 1.1;
    else
      expected = static_cast<double>(std::min<std::size_t>(kBlock, n - (b - peer_blocks - family_blocks) * kBlock)) *
                 g.coach_share * g.coach_minor_ties * 1.2;
    lists[b].reserve(static_cast<std::size_t>(expected) + 64);
  }
  std::vector<std::vector<std::uint32_t>> counts(static_cast<std::size_t>(std::max(threads, 1)) - 1);
  for (auto& c : counts) c.assign(n, 0);
  parallel_for(lists.size(), threads, [&](std::size_t b, std::size_t w) {
    TieList& ties = lists[b];
    if (b < peer_blocks) {
      const std::uint32_t i0 = static_cast<std::uint32_t>(b * kBlock);
      const std::uint32_t i1 = static_cast<std::uint32_t>(std::min<std::size_t>(n, (b + 1) * kBlock));
      for (std::uint32_t i = i0; i < i1; ++i) {
        const std::uint32_t v = order[i];
        const std::uint32_t chunk = i / class_size * class_size;
        const std::uint32_t chunk_end = std::min(chunk + class_size, n);
        const double a_v = s.pop.activity[P.user[v]];
        // Within the class: the pairs (v, later members), from v's draws (a
        // uniform in (0, 1) is always below q = 1: a complete class needs none).
        if (q >= 1.0) {
          for (std::uint32_t j = i + 1; j < chunk_end; ++j) add_tie(ties, v, order[j], false);
        } else {
          rng::Draw in(s.seed, streams::graph_peer, P.user[v], pid, 1u << 16);
          for (std::uint32_t j = i + 1; j < chunk_end; ++j)
            if (in.uniform() < q) add_tie(ties, v, order[j], false);
        }
        // Outside the class: a position in the age window, not in v's class.
        rng::Draw d(s.seed, streams::graph_peer, P.user[v], pid);
        const std::uint64_t k = d.poisson(0.5 * c_out * a_v);
        for (std::uint64_t j = 0; j < k; ++j) {
          std::uint32_t pos = chunk;
          for (int tries = 0; tries < 8 && pos >= chunk && pos < chunk_end; ++tries) {
            const std::int64_t off = static_cast<std::int64_t>(d.below(2 * window + 1)) - window;
            pos = static_cast<std::uint32_t>(std::clamp<std::int64_t>(static_cast<std::int64_t>(i) + off, 0, n - 1));
          }
          if (pos < chunk || pos >= chunk_end) add_tie(ties, v, order[pos], false);
        }
      }
    } else if (b < peer_blocks + family_blocks) {
      if (parent_age.empty()) return;
      const std::size_t m0 = (b - peer_blocks) * kBlock, m1 = std::min(P.minors.size(), m0 + kBlock);
      // The adults are drawn ahead, up to kPending at a time, and prefetched
      // before their ties are added in the order drawn: each is a miss in
      // parent_age.
      constexpr std::size_t kPending = 32;
      std::uint64_t pending[kPending];  // minor << 32 | index into parent_age
      std::size_t held = 0;
      const auto add_pending = [&] {
        for (std::size_t j = 0; j < held; ++j)
          add_tie(ties, static_cast<std::uint32_t>(pending[j] >> 32),
                  parent_age[static_cast<std::uint32_t>(pending[j])], true);
        held = 0;
      };
      for (std::size_t mi = m0; mi < m1; ++mi) {
        const std::uint32_t m = P.minors[mi];
        rng::Draw d(s.seed, streams::graph_family, P.user[m], pid);
        const std::uint64_t f = d.poisson(g.family_adults_per_minor);
        for (std::uint64_t j = 0; j < f; ++j) {
          if (held == kPending) add_pending();
          const std::uint32_t at = d.below(static_cast<std::uint32_t>(parent_age.size()));
          __builtin_prefetch(&parent_age[at]);
          pending[held++] = static_cast<std::uint64_t>(m) << 32 | at;
        }
      }
      add_pending();
    } else {
      // Teachers and coaches: tied to minors of one class.
      const std::uint32_t k0 = static_cast<std::uint32_t>((b - peer_blocks - family_blocks) * kBlock);
      const std::uint32_t k1 = std::min<std::uint32_t>(n, k0 + kBlock);
      for (std::uint32_t k = k0; k < k1; ++k) {
        if (s.pop.age[P.user[k]] < 21) continue;
        rng::Draw d(s.seed, streams::graph_coach, P.user[k], pid);
        if (d.uniform() >= g.coach_share) continue;
        const std::uint32_t seed_minor = P.minors[d.below(static_cast<std::uint32_t>(P.minors.size()))];
        const std::uint32_t i = position[seed_minor];
        const std::uint32_t chunk = i / class_size * class_size;
        const std::uint32_t chunk_len = std::min(class_size, n - chunk);
        const std::uint64_t ties_k = d.poisson(g.coach_minor_ties);
        for (std::uint64_t j = 0; j < ties_k; ++j) {
          const std::uint32_t at = chunk + d.below(chunk_len);
          if (at < minors_end) add_tie(ties, k, order[at], true);  // a minor (without reading its age)
        }
      }
    }
    std::uint32_t* count = w == 0 ? degree.data() : counts[w - 1].data();
    for (const Tie& t : ties) {
      ++count[t.a];
      ++count[t.b & ~kTrustedBit];
    }
  });
  for (const auto& c : counts)
    for (std::uint32_t v = 0; v < n; ++v) degree[v] += c[v];
  return lists;
}

// ---------------------------------------------------------------- edge lists
// graph.edge_list is checked here as strictly as Python's
// safesim.scenario.check_edge_list checks it when the scenario loads, with
// the same one-line messages (FILE:LINE:COL: graph.edge_list: message), so a
// file that changed after that check, or a spec built without Python, is
// refused the same way and never half-read. Refused: a missing file; a
// folder, FIFO, socket or device (found by stat before opening, so a FIFO
// cannot block the load); a file over kEdgeListMaxBytes; a line that is not
// UTF-8; a line without two indices and an optional 0/1 flag; a negative,
// fractional or non-numeric index; an index out of range; a self-loop; a
// duplicate tie (a b twice, or a b and b a), naming the line of the first;
// a file without edges. The first problem in file order is reported, as
// Python's line-by-line check does.

/// Largest edge list read, in bytes (Python's EDGE_LIST_MAX_BYTES). It also
/// keeps the directed edge count (two per line of at least 4 bytes) inside
/// the CSR graph's 32-bit edge index.
constexpr std::uint64_t kEdgeListMaxBytes = std::uint64_t{4} << 30;

/// Length in bytes of the whitespace character at s[i] (0 if none): the
/// characters Python's str.isspace() and regex \s accept.
std::size_t space_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f)) return 1;
  const auto at = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  if (c == 0xc2 && (at(1) == 0x85 || at(1) == 0xa0)) return 2;  // U+0085, U+00A0
  if (c == 0xe1 && at(1) == 0x9a && at(2) == 0x80) return 3;    // U+1680
  if (c == 0xe2 && at(1) == 0x80 && (at(2) <= 0x8a || at(2) == 0xa8 || at(2) == 0xa9 || at(2) == 0xaf))
    return at(2) >= 0x80 ? 3 : 0;                             // U+2000-200A, 2028, 2029, 202F
  if (c == 0xe2 && at(1) == 0x81 && at(2) == 0x9f) return 3;  // U+205F
  if (c == 0xe3 && at(1) == 0x80 && at(2) == 0x80) return 3;  // U+3000
  return 0;
}

/// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80u) || b > (k == 1 ? hi : 0xbfu)) return false;
    }
    i += n + 1;
  }
  return true;
}

/// Characters (code points) in the first `bytes` bytes of UTF-8 text.
std::size_t code_points(std::string_view s, std::size_t bytes) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < bytes && i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) ++n;
  return n;
}

/// `text` quoted for an error line as Python's safesim.errors.printable shows
/// it: cut to `limit` characters, backslashes doubled, control characters
/// (C0, DEL, C1) and bidirectional overrides escaped.
std::string shown(std::string_view text, std::size_t limit = 80) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  std::size_t chars = 0, i = 0;
  while (i < text.size()) {
    if (chars == limit) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    const auto at = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
    ++chars;
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t' || c == '\n' || c == '\r') {
      out += c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += {'\\', 'x', hex[c >> 4], hex[c & 15]};
    } else if (c == 0xc2 && at(1) >= 0x80 && at(1) <= 0x9f) {  // C1 controls
      out += {'\\', 'x', hex[at(1) >> 4], hex[at(1) & 15]};
      ++i;
    } else if (c == 0xe2 && ((at(1) == 0x80 && at(2) >= 0xaa && at(2) <= 0xae) ||
                             (at(1) == 0x81 && at(2) >= 0xa6 && at(2) <= 0xa9))) {  // U+202A-202E, U+2066-2069
      const unsigned cp = 0x2000u | ((at(1) & 0x3fu) << 6) | (at(2) & 0x3fu);
      out += {'\\', 'u', hex[cp >> 12], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15], hex[cp & 15]};
      i += 2;
    } else if (c >= 0x80) {  // one whole UTF-8 character
      std::size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      for (std::size_t k = 0; k < n && i < text.size(); ++k) out += text[i++];
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out + "'";
}

/// 4294967296 as "4,294,967,296".
std::string with_commas(std::uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

[[noreturn]] void edge_error(const std::string& where, std::uint64_t line, std::size_t column,
                             const std::string& message) {
  const auto clamp = [](std::uint64_t v) { return static_cast<int>(std::min<std::uint64_t>(v, INT32_MAX)); };
  throw ScenarioError(where, clamp(line), clamp(column), "graph.edge_list", message);
}

/// What a token that is not a whole number is, in Python's words: "-3"
/// negative, "1.5", ".5", "2e3", "-1.5e-2" fractional, anything else not an index.
const char* non_index_kind(std::string_view t) {
  const auto digits = [&](std::size_t& i) {
    const std::size_t from = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i > from;
  };
  std::size_t i = 0;
  if (i < t.size() && t[i] == '-') ++i;
  const std::size_t start = i;
  if (digits(i) && i == t.size() && start == 1) return "a negative user index";
  // -?[0-9]*\.[0-9]+(e-?[0-9]+)?  or  -?[0-9]+e-?[0-9]+
  i = start;
  const bool whole = digits(i);
  bool fraction = false;
  if (i < t.size() && t[i] == '.') {
    ++i;
    fraction = digits(i);
    if (!fraction) return "not a user index";
  }
  if (!whole && !fraction) return "not a user index";
  if (i < t.size() && t[i] == 'e') {
    ++i;
    if (i < t.size() && t[i] == '-') ++i;
    if (!digits(i)) return "not a user index";
  } else if (!fraction) {
    return "not a user index";
  }
  return i == t.size() ? "a fractional user index" : "not a user index";
}

struct EdgeFile {
  FILE* f = nullptr;
  char* line = nullptr;
  std::size_t capacity = 0;
  ~EdgeFile() {
    std::free(line);
    if (f) std::fclose(f);
  }
  /// The next line, '\n' included; false at the end of the file or on a read error.
  bool next(std::string_view& text) {
    const ssize_t got = ::getline(&line, &capacity, f);
    if (got < 0) return false;
    text = std::string_view(line, static_cast<std::size_t>(got));
    return true;
  }
};

/// Fields of a line: runs of non-whitespace, each with its byte offset.
std::vector<std::pair<std::size_t, std::string_view>> fields_of(std::string_view text) {
  std::vector<std::pair<std::size_t, std::string_view>> fields;
  for (std::size_t i = 0; i < text.size();) {
    if (const std::size_t w = space_at(text, i)) {
      i += w;
      continue;
    }
    const std::size_t from = i;
    while (i < text.size() && space_at(text, i) == 0) ++i;
    fields.emplace_back(from, text.substr(from, i - from));
  }
  return fields;
}

/// One tie as read: the unordered pair (lower index in the high half), and
/// its line shifted left by one with the low bit set when written high first.
struct ReadTie {
  std::uint64_t pair;
  std::uint64_t line_swapped;
  std::uint64_t line() const { return line_swapped >> 1; }
};

}  // namespace

void read_edge_list(const std::string& path, const std::string& where, std::int64_t users,
                    const std::function<void(std::uint64_t, std::uint64_t, bool)>& tie) {
  const std::string last = std::to_string(users - 1);
  const auto cannot_read = [&](int err) {
    if (err == ENOENT) edge_error(where, 0, 0, "no such edge list file " + shown(path));
    edge_error(where, 0, 0, "cannot read edge list " + shown(path) + ": " + std::strerror(err));
  };
  const auto not_regular = [&](mode_t mode) {
    const char* kind = S_ISDIR(mode)                    ? "a folder"
                       : S_ISFIFO(mode)                 ? "a FIFO"
                       : S_ISSOCK(mode)                 ? "a socket"
                       : S_ISCHR(mode) || S_ISBLK(mode) ? "a device"
                                                        : "not a regular file";
    edge_error(where, 0, 0, "edge list " + shown(path) + " is " + kind + ", not a regular file");
  };
  // stat before open: opening a FIFO for reading would wait for a writer.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) cannot_read(errno);
  if (!S_ISREG(st.st_mode)) not_regular(st.st_mode);
  // O_NONBLOCK in case the path became a FIFO since; fstat checks what was opened.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) cannot_read(errno);
  EdgeFile file;
  file.f = ::fdopen(fd, "rb");
  if (file.f == nullptr) {
    const int err = errno;
    ::close(fd);
    cannot_read(err);
  }
  if (::fstat(fd, &st) != 0) cannot_read(errno);
  if (!S_ISREG(st.st_mode)) not_regular(st.st_mode);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > kEdgeListMaxBytes)
    edge_error(where, 0, 0,
               "edge list " + shown(path) + " is " + with_commas(size) + " bytes (limit " +
                   with_commas(kEdgeListMaxBytes) + ")");

  std::vector<ReadTie> read;  // every tie of the file, for the duplicate check
  // The first problem on a line, reported once the ties above it are checked for duplicates.
  std::uint64_t bad_line = 0;
  std::size_t bad_column = 0;
  std::string bad_message;
  std::uint64_t lineno = 0;
  std::string_view text;
  while (bad_line == 0 && file.next(text)) {
    ++lineno;
    const auto fail = [&](std::size_t byte, std::string message) {
      bad_line = lineno;
      bad_column = code_points(text, byte) + 1;
      bad_message = std::move(message);
    };
    if (!valid_utf8(text)) {
      fail(0, "not UTF-8 text");
      break;
    }
    const auto fields = fields_of(text);
    if (fields.empty() || fields[0].second[0] == '#') continue;
    if (fields.size() < 2 || fields.size() > 3) {
      fail(0, "expected two user indices and an optional 0/1 trusted flag, got " + std::to_string(fields.size()) +
                  " field(s)");
      break;
    }
    std::uint64_t id[2] = {0, 0};
    for (std::size_t k = 0; k < 2 && bad_line == 0; ++k) {
      const auto [at, token] = fields[k];
      if (token.find_first_not_of("0123456789") != std::string_view::npos) {
        fail(at, shown(token) + ": " + non_index_kind(token) + " (whole numbers 0 to " + last + ")");
        break;
      }
      // Leading zeros dropped, as Python's int() reads the index.
      const std::string_view digits = token.substr(std::min(token.find_first_not_of('0'), token.size() - 1));
      if (digits.size() <= 19) id[k] = std::stoull(std::string(digits));
      if (digits.size() > 19 || id[k] >= static_cast<std::uint64_t>(std::max<std::int64_t>(users, 0)))
        fail(at, "user index " +
                     (digits.size() > 40 ? std::string(digits.substr(0, 40)) + "..." : std::string(digits)) +
                     " out of range (the scenario has " + std::to_string(users) + " users: 0 to " + last + ")");
    }
    if (bad_line != 0) break;
    if (fields.size() == 3 && fields[2].second != "0" && fields[2].second != "1") {
      fail(fields[2].first, shown(fields[2].second) + ": the trusted flag is 0 or 1");
      break;
    }
    if (id[0] == id[1]) {
      fail(fields[0].first,
           "self-loop " + std::to_string(id[0]) + " " + std::to_string(id[1]) + ": a user cannot be tied to itself");
      break;
    }
    read.push_back({std::min(id[0], id[1]) << 32 | std::max(id[0], id[1]), lineno << 1 | (id[0] > id[1] ? 1u : 0u)});
    tie(id[0], id[1], fields.size() == 3 && fields[2].second == "1");
  }
  if (bad_line == 0 && std::ferror(file.f)) cannot_read(errno);
  // Duplicates: sorted by pair, then line, every tie after the first of its pair
  // repeats it; the earliest such line is the one a line-by-line reader stops at.
  std::sort(read.begin(), read.end(), [](const ReadTie& x, const ReadTie& y) {
    return x.pair != y.pair ? x.pair < y.pair : x.line_swapped < y.line_swapped;
  });
  const ReadTie* dup = nullptr;
  const ReadTie* first = nullptr;
  for (std::size_t k = 1, run = 0; k < read.size(); ++k) {
    if (read[k].pair != read[k - 1].pair) {
      run = k;
    } else if (dup == nullptr || read[k].line() < dup->line()) {
      dup = &read[k];
      first = &read[run];
    }
  }
  if (dup != nullptr) {
    const std::uint64_t lo = dup->pair >> 32, hi = dup->pair & 0xffffffffu;
    const bool swapped = (dup->line_swapped & 1) != 0;
    // Read that line again for the column of its first index.
    std::rewind(file.f);
    for (std::uint64_t n = 1; file.next(text) && n < dup->line();) ++n;
    const auto fields = fields_of(text);
    edge_error(path, dup->line(), fields.empty() ? 1 : code_points(text, fields[0].first) + 1,
               "duplicate edge " + std::to_string(swapped ? hi : lo) + " " + std::to_string(swapped ? lo : hi) +
                   " (first at line " + std::to_string(first->line()) + "; ties are undirected)");
  }
  if (bad_line != 0) edge_error(path, bad_line, bad_column, bad_message);
  if (read.empty()) edge_error(path, 0, 0, "the edge list has no edges (the graph would be empty)");
}

namespace {

void load_edge_list(const State& s, const PlatformState& P, TieList& edges) {
  const std::string& path = s.spec->graph.edge_list;
  const std::string& where = s.spec->source_file.empty() ? path : s.spec->source_file;
  read_edge_list(path, where, s.spec->population.users, [&](std::uint64_t a, std::uint64_t b, bool trusted) {
    const std::uint32_t la = P.local_of[a], lb = P.local_of[b];
    if (la != kNone && lb != kNone) add_tie(edges, la, lb, trusted);  // both on this platform
  });
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

/// graph.on_demand: what `neighbours` needs to generate a member's peer ties
/// (the community layout, each class's partner class in every round), kept
/// beside the stored family and coach ties.
///
/// Ties outside the class (c_out expected per member, as in the stored
/// graph) run between partner classes: in each of `rounds` rounds the classes
/// are cut into blocks of about 1.5 x window / class_size consecutive classes
/// (from a keyed shift, so block edges move between rounds) and each block's
/// classes are paired at random (a keyed shuffle, consecutive entries paired;
/// in an odd block one class sits the round out). Two uniform positions of a
/// block lie a third of its length apart on average, half the window as in
/// the stored graph. Members u and v of partner classes are tied with
/// probability min(1, beta (a_u + a_v) / 2) from one uniform keyed by the
/// pair's community positions (graph_pair stream), beta = c_out / (rounds x
/// class_size): a member expects c_out (a_v + mean a) / 2 such ties, the
/// stored graph's activity-driven spread (its own Poisson(c_out a_v / 2)
/// starts plus those of others). Within the class pairs are tied with
/// probability q from one uniform keyed by the pair (a complete class needs
/// none).
void lay_out_classes(const State& s, std::size_t p, std::vector<std::uint32_t> order, GraphArrays& g, int threads) {
  const auto pid = static_cast<std::uint32_t>(p);
  const auto n = static_cast<std::uint32_t>(order.size());
  const PeerShape shape = peer_shape(s.spec->graph, n);
  g.class_size = shape.class_size;
  g.classes = (n + shape.class_size - 1) / shape.class_size;
  g.q = shape.q;
  g.rounds = g.classes >= 2 && shape.c_out > 0
                 ? static_cast<std::uint32_t>(std::clamp(std::ceil(shape.c_out), 1.0, static_cast<double>(kMaxRounds)))
                 : 0;
  g.beta = g.rounds > 0 ? shape.c_out / (static_cast<double>(g.rounds) * shape.class_size) : 0.0;
  const PlatformState& P = s.platforms[p];
  g.position.resize(n);
  g.activity_at.resize(n);
  // In blocks on every thread: order is a permutation, so no two positions
  // write one entry.
  parallel_for((static_cast<std::size_t>(n) + kBlock - 1) / kBlock, threads, [&](std::size_t b, std::size_t) {
    const auto i1 = static_cast<std::uint32_t>(std::min<std::size_t>(n, (b + 1) * kBlock));
    for (auto i = static_cast<std::uint32_t>(b * kBlock); i < i1; ++i) {
      g.position[order[i]] = i;
      g.activity_at[i] = s.pop.activity[P.user[order[i]]];
    }
  });
  g.order = std::move(order);
  const std::uint32_t K = g.classes;
  const auto block = static_cast<std::uint32_t>(std::clamp<double>(
      std::round(1.5 * shape.window / static_cast<double>(shape.class_size)), 2.0, static_cast<double>(K)));
  g.partner.assign(static_cast<std::size_t>(g.rounds) * K, kNone);
  parallel_for(g.rounds, threads, [&](std::size_t r, std::size_t) {
    const auto round = static_cast<std::uint32_t>(r);
    const std::uint32_t key = pid * 128 + round;
    const std::uint32_t shift = rng::Draw(s.seed, streams::graph_partner, kNone, key).below(block);
    std::uint32_t* partner = g.partner.data() + r * K;
    std::vector<std::uint32_t> perm;
    // Block b holds classes [b x block - shift, (b + 1) x block - shift) within [0, K).
    for (std::uint32_t b = 0; static_cast<std::uint64_t>(b) * block < static_cast<std::uint64_t>(K) + shift; ++b) {
      const std::uint64_t lo = std::max<std::int64_t>(0, static_cast<std::int64_t>(b) * block - shift);
      const std::uint64_t hi = std::min<std::uint64_t>(K, static_cast<std::uint64_t>(b + 1) * block - shift);
      if (hi <= lo + 1) continue;
      perm.resize(hi - lo);
      std::iota(perm.begin(), perm.end(), static_cast<std::uint32_t>(lo));
      rng::Draw d(s.seed, streams::graph_partner, b, key);
      for (std::size_t j = perm.size() - 1; j > 0; --j)
        std::swap(perm[j], perm[d.below(static_cast<std::uint32_t>(j + 1))]);
      for (std::size_t j = 0; j + 1 < perm.size(); j += 2) {
        partner[perm[j]] = perm[j + 1];
        partner[perm[j + 1]] = perm[j];
      }
    }
  });
}

/// One platform's graph, on `threads` threads (its groups: build_graphs).
void build_graph(State& s, std::size_t p, int threads) {
  PlatformState& P = s.platforms[p];
  const auto n = static_cast<std::uint32_t>(P.user.size());
  if (P.user.size() >= kTrustedBit) throw std::runtime_error("graph: more than 2^31 members on one platform");
  std::vector<std::uint32_t> degree(n, 0);
  std::vector<TieList> lists;
  std::vector<std::uint32_t> order;
  const bool on_demand = s.spec->graph.on_demand && s.spec->graph.edge_list.empty() && n >= 2;
  if (s.spec->graph.edge_list.empty()) {
    // Age-sorted order with random tie-breaks: consecutive chunks are communities.
    if (n >= 2) order = community_order_parallel(s, P, p, threads);
    lists = generate_edges(s, P, p, order, !on_demand, degree, threads);
    if (!on_demand) std::vector<std::uint32_t>().swap(order);  // not held through the freeze's peak
  } else {
    lists.resize(1);
    load_edge_list(s, P, lists[0]);
    for (const Tie& t : lists[0]) {
      ++degree[t.a];
      ++degree[t.b & ~kTrustedBit];
    }
  }
  std::shared_ptr<GraphArrays> g = freeze(lists, degree, n, threads);
  if (on_demand) lay_out_classes(s, p, std::move(order), *g, threads);
  P.graph = Graph::of(std::move(g));
}

}  // namespace

std::vector<std::size_t> platforms_largest_first(const State& s) {
  std::vector<std::size_t> by_size(s.platforms.size());
  std::iota(by_size.begin(), by_size.end(), std::size_t{0});
  std::stable_sort(by_size.begin(), by_size.end(), [&](std::size_t x, std::size_t y) {
    return s.platforms[x].user.size() > s.platforms[y].user.size();
  });
  return by_size;
}

void build_graphs(State& s, int threads) {
  threads = std::max(threads, 1);
  // Largest first: the large platforms one at a time, each on every thread
  // (so at most one large build's lists are held at once, and before the
  // other graphs exist); then the small ones side by side, one thread each.
  const std::vector<std::size_t> by_size = platforms_largest_first(s);
  std::size_t large = 0;
  while (large < by_size.size() && s.platforms[by_size[large]].user.size() >= kSplitMembers) ++large;
  // With peer ties generated when read (graph.on_demand) a large build holds
  // little (its family and coach ties, its layout): when there are large
  // platforms enough to keep every thread busy, they go side by side too, one
  // thread each, so that one build's serial steps overlap another's and no
  // thread reads the other's half of a scatter (ecosystem_us at 10 M: the
  // build 7.4-7.9 s -> 6.0-6.3 s).
  if (s.spec->graph.on_demand && s.spec->graph.edge_list.empty() && large >= static_cast<std::size_t>(threads))
    large = 0;
  for (std::size_t j = 0; j < large; ++j) build_graph(s, by_size[j], threads);
  parallel_for(by_size.size() - large, threads,
               [&](std::size_t j, std::size_t) { build_graph(s, by_size[large + j], 1); });
  // Groups (independent of the graph), platform by platform, largest first.
  parallel_for(by_size.size(), threads, [&](std::size_t j, std::size_t) {
    PlatformState& P = s.platforms[by_size[j]];
    build_groups(s, P, by_size[j]);
  });
}

std::span<const std::uint32_t> neighbours(const State& s, std::size_t p, std::uint32_t v,
                                          std::vector<std::uint32_t>& buf, TieSink* sink) {
  const Graph& graph = s.platforms[p].graph;
  const GraphArrays* g = graph.arrays.get();
  if (g == nullptr || !g->on_demand()) return graph.targets.subspan(graph.offsets[v], graph.degree(v));
  TieCache& cache = s.tie_cache;
  const std::uint64_t key = static_cast<std::uint64_t>(p) << 32 | v;
  if (const TieCache::Index::Entry* e = cache.at.find(key); e != nullptr) {
    const auto first = cache.ties.begin() + e->first;
    buf.assign(first, first + e->size);
    return buf;
  }
  // Generated: the stored (family and coach) ties, then the peer ties.
  const std::span<const std::uint32_t> stored = graph.targets.subspan(graph.offsets[v], graph.degree(v));
  buf.assign(stored.begin(), stored.end());
  const auto n = static_cast<std::uint32_t>(g->order.size());
  const std::uint32_t C = g->class_size, i = g->position[v], k = i / C;
  // A pair's uniform is keyed by its two community positions (which depend
  // on the seed and the platform's members only, like its users' ids).
  const std::uint32_t slot0 = static_cast<std::uint32_t>(p) * 128;
  const auto pair_uniform = [&](std::uint32_t j, std::uint32_t slot) {
    return rng::uniform_at(s.seed, streams::graph_pair, std::min(i, j), std::max(i, j), slot0 + slot);
  };
  // Everything below is read in community order: a class is consecutive.
  for (std::uint32_t j = k * C, end = std::min(k * C + C, n); j < end; ++j)
    if (j != i && (g->q >= 1.0 || pair_uniform(j, 127) < g->q)) buf.push_back(g->order[j]);
  const double a_v = g->activity_at[i];
  for (std::uint32_t r = 0; r < g->rounds; ++r) {
    const std::uint32_t kp = g->partner[static_cast<std::size_t>(r) * g->classes + k];
    if (kp == kNone) continue;
    for (std::uint32_t j = kp * C, end = std::min(kp * C + C, n); j < end; ++j) {
      const double prob = g->beta * 0.5 * (a_v + static_cast<double>(g->activity_at[j]));
      if (pair_uniform(j, r) < prob) buf.push_back(g->order[j]);
    }
  }
  std::sort(buf.begin(), buf.end());
  buf.erase(std::unique(buf.begin(), buf.end()), buf.end());
  if (sink != nullptr) {
    sink->keys.push_back(key);
    sink->ties.insert(sink->ties.end(), buf.begin(), buf.end());
    sink->ends.push_back(static_cast<std::uint32_t>(sink->ties.size()));
  } else {
    cache.insert(key, buf);
  }
  return buf;
}

}  // namespace safesim::detail
